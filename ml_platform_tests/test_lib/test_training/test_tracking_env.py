"""Using a tracking store must not leak MLflow's URIs into the process environment."""

import os
from pathlib import Path

import pytest

from ml_platform.lib.training.tracking import configure, using


def test_using_restores_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    tracking = configure(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts"))
    with using(tracking):
        assert os.environ.get("MLFLOW_TRACKING_URI") == tracking.tracking_uri
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    with using(tracking):
        pass
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:////elsewhere/mlflow.db"
