"""Feast's classes are not instrumented by typeguard once the package is imported; others are.

Each case runs in a fresh interpreter: the decorator is applied when Feast is imported, once
per process.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from ml_platform.settings import PROJECT_ROOT

# `Entity` is @typechecked in Feast 0.67: a str is expected for `name`.
FEAST_PROBE = """
import feast, typeguard
try:
    feast.Entity(name=123, join_keys=["customer_id"])
    print("unchecked")
except typeguard.TypeCheckError:
    print("checked")
"""
# Anyone else's @typechecked function still is.
OTHER_PROBE = """
import typeguard

@typeguard.typechecked
def double(x: int) -> int:
    return 2 * x

@typeguard.typechecked()
def halve(x: int) -> int:
    return x // 2

for f in (double, halve):
    try:
        f("2")
        print("unchecked")
    except typeguard.TypeCheckError:
        print("checked")
"""


def _run(code: str, folder: Path) -> list[str]:
    """Run ``code`` from a file (typeguard instruments only functions whose source it can read)."""
    script = folder / "probe.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, "-W", "ignore", str(script)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


@pytest.mark.parametrize(
    ("first_import", "expected"),
    [
        ("import ml_platform", ["unchecked"]),
        ("import ml_platform.definitions", ["unchecked"]),
        ("", ["checked"]),  # the canary: Feast alone is instrumented (else drop the wrapper)
    ],
)
def test_feast_classes_are_not_instrumented_after_the_package(
    first_import: str, expected: list[str], tmp_path: Path
) -> None:
    assert _run(f"{first_import}\n{FEAST_PROBE}", tmp_path) == expected


def test_other_typechecked_functions_still_are(tmp_path: Path) -> None:
    assert _run(f"import ml_platform\n{OTHER_PROBE}", tmp_path) == ["checked", "checked"]


def test_installing_twice_wraps_once(tmp_path: Path) -> None:
    code = (
        "import typeguard, ml_platform\n"
        "from ml_platform.lib import feast_import\n"
        "first = typeguard.typechecked\n"
        "feast_import.install()\n"
        "print(typeguard.typechecked is first)"
    )
    assert _run(code, tmp_path) == ["True"]
