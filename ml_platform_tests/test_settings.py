"""Settings from the environment, and the resource that carries them to the assets."""

import dataclasses
from pathlib import Path

import pytest

from ml_platform.defs.resources import PlatformResource
from ml_platform.settings import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("ML_PLATFORM_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def test_defaults_put_everything_under_data() -> None:
    settings = Settings.from_env()
    assert settings == Settings.under(PROJECT_ROOT / "data")
    assert settings.feast_repo_dir == str(PROJECT_ROOT / "feature_repo")
    assert settings.warehouse_path == str(PROJECT_ROOT / "data" / "warehouse.duckdb")


def test_the_warehouse_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_PLATFORM_DATA_DIR", "/srv/ml")
    assert Settings.from_env().warehouse_path == "/srv/ml/warehouse.duckdb"
    assert Settings.under("/tmp/x").warehouse_path == "/tmp/x/warehouse.duckdb"


def test_every_variable_is_read_with_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_PLATFORM_DATA_DIR", "/srv/ml")
    monkeypatch.setenv("ML_PLATFORM_LAKE_URI", "s3://bucket/lake")
    monkeypatch.setenv("ML_PLATFORM_REPORTS_DIR", "reports")  # relative: to the project
    monkeypatch.setenv("ML_PLATFORM_WAREHOUSE_PATH", "/srv/analytics/fraud.duckdb")
    monkeypatch.setenv("ML_PLATFORM_LABEL_MATURITY_DAYS", "21")
    monkeypatch.setenv("ML_PLATFORM_DRIFT_PSI_THRESHOLD", "0.25")
    monkeypatch.setenv("ML_PLATFORM_EXECUTOR", "multiprocess")
    monkeypatch.setenv("ML_PLATFORM_PARTITION_START", "2025-05-01")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    settings = Settings.from_env()
    assert settings.landing_dir == "/srv/ml/landing"
    assert settings.lake_uri == "s3://bucket/lake"
    assert settings.reports_dir == str(PROJECT_ROOT / "reports")
    assert settings.warehouse_path == "/srv/analytics/fraud.duckdb"
    assert settings.label_maturity_days == 21 and isinstance(settings.label_maturity_days, int)
    assert settings.drift_psi_threshold == 0.25
    assert settings.executor == "multiprocess"
    assert settings.partition_start.isoformat() == "2025-05-01"
    assert settings.mlflow_tracking_uri == "http://mlflow:5000"


def test_a_malformed_number_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_PLATFORM_RETRAIN_COOLDOWN_DAYS", "a week")
    with pytest.raises(ValueError):
        Settings.from_env()


def test_the_resource_carries_every_setting_the_assets_see(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        Settings.under(tmp_path), label_maturity_days=9, performance_margin=0.07
    )
    assert PlatformResource.from_settings(settings).settings() == settings
