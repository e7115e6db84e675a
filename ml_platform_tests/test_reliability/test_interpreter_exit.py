"""Proxy for "the whole suite run 10 times in a row: exit code 0 every time".

Not the real thing: ten runs of the real suite take about 100 minutes. The way the suite can
fail after printing "passed" is a native library crashing while the interpreter shuts down
(FINDINGS.md: pyarrow datasets from delta-rs aborted Python at exit, SIGABRT, exit 134, in up
to 15 of 20 runs). Such a crash depends on which native libraries were loaded and used in the
process, not on how many tests ran. So ``native_exit_worker`` loads and uses, in one fresh
interpreter, every native library the suite touches, the way the product uses them (Delta
write and read through ``DeltaLake``, Polars ``scan_delta``, Arrow batches into DuckDB, a
Feast online lookup on a small SQLite store, LightGBM train and predict, an MLflow run in
SQLite, a Dagster ``materialize``), then exits normally. This test runs it in ten fresh
interpreters, two at a time (each one starts, works and exits on its own; the pairing only
saves wall time), and requires exit code 0 and no fatal-error text from every one.

What it does not cover: crashes that need the suite's volume or a library it does not load
(e.g. the Redis and PostgreSQL test servers), and a rare crash (1 in 100 runs) will usually
pass ten runs. The real soak is the suite itself ten times (see the reliability report).
"""

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml_platform.lib.feature_store.export import export_days
from ml_platform.lib.feature_store.store import (
    apply_if_changed,
    feature_repo,
    feature_store,
    materialize_latest,
    offline_dir,
)
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_DATE
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.tracking import configure
from ml_platform.settings import PROJECT_ROOT, Settings
from ml_platform_tests.test_lib.test_feature_store.snapshots import random_snapshots

pytestmark = pytest.mark.reliability

RUNS = 10
# Interpreters alive at once. Each one spends ~5 s importing (Feast, LightGBM, Dagster, MLflow)
# and under a second using them: two lanes keep the ten runs near 40 s on two cores.
LANES = 2
WORKER = [sys.executable, "-m", "ml_platform_tests.test_reliability.native_exit_worker"]
FATAL = ("Fatal Python error", "Aborted", "Segmentation", "core dumped", "panicked")


def _prepare(data_dir: Path) -> None:
    """A Feast store with online values and a created MLflow store, shared by every run."""
    settings = Settings.under(data_dir)
    lake = DeltaLake(settings.lake_uri)
    day = dt.date(2026, 1, 1)
    snapshots = random_snapshots(CUSTOMER_DAILY, [1, 2, 3], [day], seed=0)
    lake.replace(CUSTOMER_DAILY.name, snapshots, None, [FEATURE_DATE])
    export_days(lake, CUSTOMER_DAILY, [day], offline_dir(settings))
    store = feature_store(settings)
    apply_if_changed(store, feature_repo(settings))
    materialize_latest(store, feature_repo(settings))
    configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)


@pytest.mark.filterwarnings("ignore:On demand feature view is an experimental feature")
def test_ten_fresh_interpreters_using_every_native_library_exit_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _prepare(data_dir)
    started = time.monotonic()
    pending = list(range(RUNS))
    running: list[tuple[int, subprocess.Popen[str]]] = []
    finished = 0
    try:
        while pending or running:
            while pending and len(running) < LANES:
                run = pending.pop(0)
                running.append((run, _start(data_dir, run)))
            run, worker = running.pop(0)
            out, err = worker.communicate(timeout=180)
            fatal = [marker for marker in FATAL if marker in err]
            assert worker.returncode == 0 and not fatal, (run, worker.returncode, err[-3000:])
            assert out.strip().endswith("ok"), (run, out[-1000:])
            finished += 1
    finally:
        for _, worker in running:  # a failure leaves no interpreter behind
            worker.kill()
            worker.communicate()
    assert finished == RUNS
    print(f"exit probe: {RUNS} interpreters in {time.monotonic() - started:.1f} s")  # noqa: T201


def _start(data_dir: Path, run: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*WORKER, str(data_dir), str(run)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
