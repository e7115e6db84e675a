"""A process SIGKILLed in the middle of a Delta write leaves the table as it was.

The child writes through the project's own writer (``DeltaLake.replace``) from a stream that
stalls after a few hundred thousand rows, so the kill lands while a data file is being written
and nothing is committed, every time. The next run then completes the write, exactly once.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.test_reliability.workers import BATCH_ROWS, day_rows

pytestmark = pytest.mark.reliability

TABLE = "silver/events"
P1, P2 = "2026-01-02", "2026-01-03"
# delta-rs buffers a row group (~1M rows) before a data file appears on disk: go past it.
BATCHES = 24
WORKER = [sys.executable, "-m", "ml_platform_tests.test_reliability.workers"]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_sigkill_mid_write_leaves_the_table_as_before_and_the_rerun_completes_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lake"
    lake = DeltaLake(str(root))
    before = pl.concat([day_rows(P1, 0, 1_000, "before"), day_rows(P2, 0, 100, "before")])
    lake.replace(TABLE, before, None, ["event_date"])
    version = lake.version(TABLE)
    files_before = set((root / TABLE).rglob("*"))
    marker = tmp_path / "streaming"

    child = subprocess.Popen(
        [*WORKER, "stalled_write", str(root), TABLE, P1, str(BATCHES), str(marker)],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: marker.exists() or child.poll() is not None, 60, "the child's write")
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        # A data file of the new write is on disk (in progress): the write is mid-way.
        _wait_for(
            lambda: any(p.is_file() for p in set((root / TABLE).rglob("*")) - files_before),
            20,
            "a data file of the write",
        )
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=20) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    # The table reads exactly as before: same version, same rows.
    assert lake.version(TABLE) == version
    assert lake.read(TABLE).sort("event_date", "id").equals(before.sort("event_date", "id"))
    assert set((root / TABLE).rglob("*")) - files_before  # the orphan is there, never read

    # The next run writes the partition again and completes it, exactly once.
    rows = BATCHES * BATCH_ROWS
    start = dt.date.fromisoformat(P1)
    lake.replace(
        TABLE,
        day_rows(P1, 0, rows, "rerun"),
        predicates.date_range("event_date", start, start + dt.timedelta(days=1)),
        ["event_date"],
    )
    after = lake.scan(TABLE)
    counts = after.group_by("event_date", "writer").agg(pl.len(), pl.col("id").n_unique())
    assert sorted(counts.collect().rows()) == [
        (dt.date(2026, 1, 2), "rerun", rows, rows),
        (dt.date(2026, 1, 3), "before", 100, 100),
    ]
    assert lake.version(TABLE) == version + 1
