"""deploy/production and the Dockerfile, validated as far as a machine without a cluster allows.

What needs a cluster, a registry or a Docker daemon (building the image, `helm install`, a run in
a pod) is not tested here; deploy/production/README.md says so.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher
from dagster_postgres import DagsterPostgresStorage

from ml_platform.definitions import build_definitions
from ml_platform.settings import PROJECT_ROOT, Settings

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ENTRY_MODULE = "ml_platform.definitions"


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _env_references(value: Any) -> list[str]:
    """Names in Dagster ``{env: NAME}`` references, anywhere in a config tree."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            return [value["env"]]
        return [name for item in value.values() for name in _env_references(item)]
    if isinstance(value, list):
        return [name for item in value for name in _env_references(item)]
    return []


# dagster.yaml


def test_the_instance_validates_against_dagsters_own_schema(
    production_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(production_dir / "dagster.yaml", tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))  # raises when invalid
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    # Dagster checks only {module, class, config} there; each class checks its own config.
    for schema, section in [
        (K8sRunLauncher.config_type(), launcher["config"]),
        (DagsterPostgresStorage.config_type(), config["storage"]["postgres"]),
    ]:
        result = validate_config(schema, section)
        assert result.success, result.errors


def test_every_postgres_setting_comes_from_the_environment(production_dir: Path) -> None:
    database = _load(production_dir / "dagster.yaml")["storage"]["postgres"]["postgres_db"]
    assert _env_references(database["password"]) == ["DAGSTER_PG_PASSWORD"]
    for key in ("hostname", "port", "db_name", "username"):
        assert _env_references(database[key]), key
    assert database["scheme"] == "postgresql+psycopg2"


def test_the_readme_documents_every_variable_the_files_read(production_dir: Path) -> None:
    readme = (production_dir / "README.md").read_text()
    variables = set(_env_references(_load(production_dir / "dagster.yaml")))
    variables |= {
        "MLFLOW_TRACKING_URI",
        "PGPASSWORD",
        "ML_PLATFORM_FEAST_ONLINE_STORE",
        "ML_PLATFORM_FEAST_REDIS_PASSWORD",
        "ML_PLATFORM_EXECUTOR",
    }
    missing = sorted(name for name in variables if f"`{name}`" not in readme)
    assert not missing


# helm-values.yaml


def test_the_helm_values_use_the_k8s_run_launcher_and_executor(production_dir: Path) -> None:
    values = _load(production_dir / "helm-values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["resources"]["requests"]["memory"] and launcher["resources"]["limits"]["memory"]

    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["-m", ENTRY_MODULE]
    env = {item["name"]: item.get("value") for item in deployment["env"]}
    assert env["ML_PLATFORM_EXECUTOR"] == "k8s"
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True
    assert deployment["podSecurityContext"]["runAsUser"] == _dockerfile_user()

    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["concurrency"]["pools"]["defaultLimit"] == 1


def test_the_helm_values_hold_no_password(production_dir: Path) -> None:
    values = _load(production_dir / "helm-values.yaml")
    postgres = values["postgresql"]
    assert "postgresqlPassword" not in postgres
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    instance = _load(production_dir / "dagster.yaml")
    assert postgres["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    assert (
        instance["run_launcher"]["config"]["postgres_password_secret"]
        == (values["global"]["postgresqlSecretName"])
    )


# Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _dockerfile_user() -> int:
    users = [value for op, value in _dockerfile_instructions() if op == "USER"]
    return int(users[-1].split(":")[0])


def test_the_image_pins_its_base_and_runs_as_a_user() -> None:
    instructions = _dockerfile_instructions()
    [base] = [value for op, value in instructions if op == "ARG" and "PYTHON_IMAGE" in value]
    image = base.split("=", 1)[1]
    # a patch release of Python 3.11 on a named Debian release (or a digest), never a floating tag
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image), image
    assert [value for op, value in instructions if op == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]
    assert instructions[-1][0] == "CMD"
    assert _dockerfile_user() != 0
    # USER comes after the last RUN: nothing runs as root at run time
    ops = [op for op, _ in instructions]
    assert max(i for i, op in enumerate(ops) if op == "USER") > max(
        i for i, op in enumerate(ops) if op == "RUN"
    )


def test_the_images_entry_point_loads_the_definitions(tmp_path: Path) -> None:
    [command] = [json.loads(value) for op, value in _dockerfile_instructions() if op == "CMD"]
    assert command[:3] == ["dagster", "code-server", "start"]
    module = command[command.index("-m") + 1]
    assert module == ENTRY_MODULE
    home = tmp_path / "dagster_home"
    home.mkdir()
    # What the code server does first: load the module's definitions, here with the k8s executor
    # as in the Helm values and the data under a temp folder.
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", module],
        cwd=tmp_path,
        env={
            "PATH": os.defpath,
            "HOME": str(tmp_path),
            "DAGSTER_HOME": str(home),
            "ML_PLATFORM_DATA_DIR": str(tmp_path / "data"),
            "ML_PLATFORM_EXECUTOR": "k8s",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_the_k8s_executor_setting_selects_dagster_k8s(settings: Settings) -> None:
    defs = build_definitions(dataclasses.replace(settings, executor="k8s"))
    assert defs.executor is not None and defs.executor.name == "k8s"


@pytest.mark.parametrize("name", ["in_process", "multiprocess"])
def test_the_local_executors_need_no_kubernetes(settings: Settings, name: str) -> None:
    defs = build_definitions(dataclasses.replace(settings, executor=name))
    assert defs.executor is not None and defs.executor.name == name
