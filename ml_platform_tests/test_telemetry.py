"""No usage telemetry leaves the machine and no progress bars reach the logs: MLflow's telemetry
and artifact-download bars are off once the package is imported."""

import os
import subprocess
import sys

import pytest

from ml_platform.settings import PROJECT_ROOT

TELEMETRY_OFF = "import mlflow.telemetry.utils as u; print(u.is_telemetry_disabled())"
BARS_ON = (
    "from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR as bar; "
    "print(bar.get())"
)


def _probe(first_import: str, probe: str, **env: str) -> bool:
    """What ``probe`` prints in a fresh interpreter outside any CI or pytest marker."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    out = subprocess.run(
        [sys.executable, "-c", f"{first_import}; {probe}"],
        cwd=PROJECT_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    return {"True": True, "False": False}[out]


@pytest.mark.parametrize(
    ("first_import", "env", "disabled"),
    [
        ("import ml_platform", {}, True),
        ("import ml_platform", {"MLFLOW_DISABLE_TELEMETRY": "false"}, False),  # opting back in
        ("import mlflow", {}, False),  # the canary: MLflow alone would send it
    ],
)
def test_mlflow_telemetry_is_off_with_the_package(
    first_import: str, env: dict[str, str], disabled: bool
) -> None:
    assert _probe(first_import, TELEMETRY_OFF, **env) is disabled


@pytest.mark.parametrize(
    ("first_import", "env", "shown"),
    [
        ("import ml_platform", {}, False),
        ("import ml_platform", {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "true"}, True),
        ("import mlflow", {}, True),  # MLflow's default
    ],
)
def test_mlflow_download_progress_bars_are_off_with_the_package(
    first_import: str, env: dict[str, str], shown: bool
) -> None:
    assert _probe(first_import, BARS_ON, **env) is shown
