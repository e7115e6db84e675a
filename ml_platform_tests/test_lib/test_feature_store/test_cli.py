"""The feast CLI on feature_repo/ agrees with the pipeline's configuration and definitions."""

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from feast.repo_config import load_repo_config

from ml_platform.lib.feature_store.online_store import STORE_TYPE
from ml_platform.lib.feature_store.store import apply_if_changed, feature_repo, feature_store
from ml_platform.lib.feature_store.store import repo_config as pipeline_config
from ml_platform.settings import PROJECT_ROOT

FEAST = PROJECT_ROOT / ".venv" / "bin" / "feast"
REPO = PROJECT_ROOT / "feature_repo"


def feast(*args: str, feast_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ML_PLATFORM_FEAST_DIR": str(feast_dir)}
    return subprocess.run(
        [str(FEAST), "-c", "feature_repo", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not FEAST.exists(), reason="needs the project venv's feast")
def test_plan_apply_list_on_a_tmp_feast_dir(settings):
    feast_dir = Path(settings.feast_dir)
    feast_dir.mkdir(parents=True)

    for command in (["plan"], ["apply"], ["feature-views", "list"]):
        result = feast(*command, feast_dir=feast_dir)
        assert result.returncode == 0, result.stderr
    assert "customer_daily" in result.stdout
    assert "merchant_daily" in result.stdout
    assert sorted(p.name for p in feast_dir.iterdir()) == ["online_store.db", "registry.db"]
    # the pipeline sees the CLI's registry as up to date: same names, paths and definitions
    assert apply_if_changed(feature_store(settings), feature_repo(settings)) == []


def test_feature_store_yaml_matches_the_pipeline_config(settings, monkeypatch):
    monkeypatch.setenv("ML_PLATFORM_FEAST_DIR", settings.feast_dir)
    cli = load_repo_config(REPO, REPO / "feature_store.yaml")
    ours = pipeline_config(settings)
    assert cli.project == ours.project
    assert cli.provider == ours.provider
    assert cli.registry.registry_type == ours.registry.registry_type == "sql"
    assert cli.registry.path == ours.registry.path
    assert cli.online_store.type == ours.online_store.type == STORE_TYPE
    assert cli.online_store.path == ours.online_store.path
    assert cli.offline_store.type == ours.offline_store.type == "duckdb"
    assert cli.entity_key_serialization_version == ours.entity_key_serialization_version == 3


def test_repo_module_without_the_variable_says_what_to_set(monkeypatch):
    monkeypatch.delenv("ML_PLATFORM_FEAST_DIR", raising=False)
    spec = importlib.util.spec_from_file_location("fraud_features", REPO / "fraud_features.py")
    assert spec is not None and spec.loader is not None
    with pytest.raises(RuntimeError, match="set ML_PLATFORM_FEAST_DIR to an absolute path"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_repo_module_exposes_every_object_of_the_pipeline_repo(settings, monkeypatch):
    monkeypatch.setenv("ML_PLATFORM_FEAST_DIR", settings.feast_dir)
    spec = importlib.util.spec_from_file_location("fraud_features", REPO / "fraud_features.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = feature_repo(settings).objects()
    exposed = {name: getattr(module, name) for name in dir(module)}
    for obj in expected:
        assert exposed[obj.name].name == obj.name
        assert exposed[obj.name] == obj
