"""No usage telemetry leaves the machine: MLflow's is off once the package is imported."""

import os
import subprocess
import sys

import pytest

from ml_platform.settings import PROJECT_ROOT

PROBE = "import mlflow.telemetry.utils as u; print(u.is_telemetry_disabled())"


def _telemetry_disabled(first_import: str, **env: str) -> bool:
    """``is_telemetry_disabled()`` in a fresh interpreter outside any CI or pytest marker."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    out = subprocess.run(
        [sys.executable, "-c", f"{first_import}; {PROBE}"],
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
    assert _telemetry_disabled(first_import, **env) is disabled
