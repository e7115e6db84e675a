"""Two processes materializing the same partition at once: one wins, whole; no duplicates.

Both write through ``LakeTransaction.replace`` (the path every silver and feature asset
takes). Delta rejects the second commit (``CommitFailedError``); the writer retries it, so
both runs succeed one after the other and the partition holds exactly one writer's rows.
"""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.lake.transaction import LakeTransaction
from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.test_reliability.workers import day_rows

pytestmark = pytest.mark.reliability

TABLE = "features/events"
P1, P2 = "2026-01-02", "2026-01-03"
ROWS = 20_000
WORKER = [sys.executable, "-m", "ml_platform_tests.test_reliability.workers"]


@pytest.mark.parametrize("fresh_table", [True, False], ids=["fresh-table", "existing-table"])
def test_two_writers_of_one_partition_leave_one_whole_version(
    tmp_path: Path, fresh_table: bool
) -> None:
    root = tmp_path / "lake"
    lake = DeltaLake(str(root))
    if not fresh_table:
        lake.replace(
            TABLE,
            pl.concat([day_rows(P1, 0, 10, "before"), day_rows(P2, 0, 10, "before")]),
            None,
            ["event_date"],
        )
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [*WORKER, "replace_day", str(root), TABLE, P1, tag, str(ROWS), str(go)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    go.touch()  # both start their write at (nearly) the same instant
    outcomes = [writer.communicate(timeout=90) for writer in writers]
    codes = [writer.returncode for writer in writers]

    assert codes == [0, 0], [err[-2000:] for _, err in outcomes]
    frame = lake.read(TABLE)
    day1 = frame.filter(pl.col("event_date") == dt.date.fromisoformat(P1))
    assert day1.height == ROWS
    assert day1["id"].is_unique().all()
    assert day1["writer"].n_unique() == 1  # one writer's partition, never a mix
    if not fresh_table:
        day2 = frame.filter(pl.col("event_date") == dt.date.fromisoformat(P2))
        assert day2["writer"].to_list() == ["before"] * 10
    # Both commits are in the history (serialized), plus the table's creation.
    history = [json_line for json_line in (root / TABLE / "_delta_log").glob("*.json")]
    assert len(history) >= 3


def test_a_failed_run_never_rolls_back_another_writers_commit(tmp_path: Path) -> None:
    """Run A writes P1, run B commits P2, then A fails: A's rollback must not undo B."""
    lake = DeltaLake(str(tmp_path / "lake"))
    lake.replace(TABLE, day_rows(P1, 0, 10, "before"), None, ["event_date"])
    p1 = dt.date.fromisoformat(P1)
    p2 = dt.date.fromisoformat(P2)
    frame_a = day_rows(P1, 0, 5, "a")
    frame_b = day_rows(P2, 0, 7, "b")

    with pytest.raises(RuntimeError, match="run A failed"), LakeTransaction(lake) as tx:
        tx.replace(
            TABLE,
            frame_a,
            predicates.date_range("event_date", p1, p1 + dt.timedelta(days=1)),
            frame_a.schema,
            ["event_date"],
        )
        # Meanwhile, another run (its own transaction) commits another partition.
        with LakeTransaction(lake) as other:
            other.replace(
                TABLE,
                frame_b,
                predicates.date_range("event_date", p2, p2 + dt.timedelta(days=1)),
                frame_b.schema,
                ["event_date"],
            )
        raise RuntimeError("run A failed")

    frame = lake.read(TABLE)
    assert frame.filter(pl.col("event_date") == p2)["writer"].to_list() == ["b"] * 7
    # A's own partition: rolled back when nobody wrote after it; here it cannot be undone
    # without undoing B, so it stays as A wrote it (a whole, idempotent replace).
    assert frame.filter(pl.col("event_date") == p1)["writer"].unique().to_list() == ["a"]


def test_a_failed_run_alone_is_still_rolled_back(tmp_path: Path) -> None:
    lake = DeltaLake(str(tmp_path / "lake"))
    before = day_rows(P1, 0, 10, "before")
    lake.replace(TABLE, before, None, ["event_date"])
    with pytest.raises(RuntimeError), LakeTransaction(lake) as tx:
        tx.replace(TABLE, day_rows(P1, 0, 3, "a"), None, before.schema, ["event_date"])
        tx.replace(TABLE, day_rows(P1, 0, 4, "a"), None, before.schema, ["event_date"])
        raise RuntimeError("boom")
    assert lake.read(TABLE).sort("id").equals(before)
