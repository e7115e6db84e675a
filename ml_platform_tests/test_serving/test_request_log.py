"""The batched Delta request log: flush by size, by interval, on close; failures; overflow."""

import datetime as dt
import itertools
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.matrix import MODEL_FEATURES
from ml_platform.serving.request_log import LOG_SCHEMA, RequestLog, log_frame

TABLE = "serving/online_scores"
WHEN = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def _row(i: int, day: int = 0) -> dict[str, Any]:
    when = WHEN + dt.timedelta(days=day)
    return {
        "transaction_id": f"t{i}",
        "customer_id": i,
        "merchant_id": 1,
        "event_timestamp": when,
        "event_date": when.date(),
        "score": 0.1,
        "flagged": False,
        "model_version": "1",
        "defaults_used": ["customer"] if i % 2 else [],
        "tx_count_30d": None if i % 2 else 3,
        "amount": 12.5,
    }


class Counts:
    def __init__(self) -> None:
        self.written: list[int] = []
        self.dropped = 0
        self.errors: list[Exception] = []


def _log(lake: DeltaLake, counts: Counts, **kw: Any) -> RequestLog:
    args = {"batch_rows": 1000, "flush_seconds": 3600.0, "max_rows": 1000, **kw}
    return RequestLog(
        lake,
        TABLE,
        on_written=counts.written.append,
        on_dropped=lambda n: setattr(counts, "dropped", counts.dropped + n),
        on_error=counts.errors.append,
        **args,
    )


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def lake(tmp_path: Path) -> DeltaLake:
    return DeltaLake(str(tmp_path / "lake"))


def test_log_frame_has_the_table_schema_with_nulls_for_missing_keys() -> None:
    frame = log_frame([_row(0), _row(1)])
    assert frame.schema == LOG_SCHEMA
    assert frame.get_column("tx_count_30d").to_list() == [3, None]
    assert frame.get_column("shadow_score").null_count() == 2
    assert frame.get_column("defaults_used").to_list() == [[], ["customer"]]
    # every model input is a column, "amount" once
    assert set(MODEL_FEATURES) <= set(LOG_SCHEMA.names())


def test_a_full_batch_is_written_at_once_partitioned_by_event_date(lake: DeltaLake) -> None:
    counts = Counts()
    log = _log(lake, counts, batch_rows=4)
    log.start()
    try:
        for i in range(4):
            assert log.submit(_row(i, day=i % 2))
        _wait(lambda: counts.written == [4])
        table = lake.read(TABLE)
        assert sorted(table.get_column("transaction_id")) == ["t0", "t1", "t2", "t3"]
        assert table.get_column("event_date").n_unique() == 2
        assert log.pending == 0
    finally:
        log.close()


def test_a_partial_batch_is_written_after_the_flush_interval(lake: DeltaLake) -> None:
    counts = Counts()
    log = _log(lake, counts, flush_seconds=0.2)
    log.start()
    try:
        log.submit(_row(0))
        _wait(lambda: counts.written == [1])
        assert lake.read(TABLE).height == 1
    finally:
        log.close()


def test_close_writes_what_is_waiting(lake: DeltaLake) -> None:
    counts = Counts()
    log = _log(lake, counts)
    log.start()
    for i in range(3):
        log.submit(_row(i))
    _wait(lambda: log.pending == 3)
    assert not lake.exists(TABLE)
    log.close()
    assert lake.read(TABLE).height == 3 and counts.written == [3]


def test_a_failed_append_is_retried_with_its_rows(lake: DeltaLake) -> None:
    counts = Counts()
    failures = iter([OSError("disk full")])
    real_append = lake.append

    def flaky(*args: Any, **kwargs: Any) -> int:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_append(*args, **kwargs)

    lake.append = flaky  # type: ignore[method-assign]
    log = _log(lake, counts, flush_seconds=0.1)
    log.start()
    try:
        log.submit(_row(0))
        _wait(lambda: counts.written == [1])
        assert len(counts.errors) == 1 and lake.read(TABLE).height == 1
    finally:
        log.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(lake: DeltaLake) -> None:
    counts = Counts()
    log = _log(lake, counts, max_rows=2)  # not started: nothing drains the queue
    started = time.perf_counter()
    accepted = [log.submit(_row(i)) for i in range(5)]
    assert time.perf_counter() - started < 0.5
    assert accepted == [True, True, False, False, False]
    assert counts.dropped == 3 and log.pending == 2


def test_submit_is_safe_from_many_threads(lake: DeltaLake) -> None:
    counts = Counts()
    log = _log(lake, counts, batch_rows=50, flush_seconds=0.1)
    log.start()
    threads = [
        threading.Thread(target=lambda k=k: [log.submit(_row(k * 100 + i)) for i in range(50)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    frame = lake.read(TABLE)
    assert frame.height == 200 and frame.get_column("transaction_id").n_unique() == 200
    assert sum(counts.written) == 200
    assert isinstance(frame.get_column("scored_at").dtype, pl.Datetime)


def test_the_frame_built_in_chunks_is_the_whole_frame() -> None:
    from ml_platform.serving.request_log import CHUNK_ROWS, _frame_in_chunks

    rows = [_row(i, day=i % 3) for i in range(CHUNK_ROWS * 2 + 7)]
    assert _frame_in_chunks(rows).equals(log_frame(rows))
    assert _frame_in_chunks([]).schema == LOG_SCHEMA


def test_a_failing_lake_is_retried_once_per_interval_not_in_a_loop(lake: DeltaLake) -> None:
    counts = Counts()
    attempts: list[float] = []

    def broken(*args: Any, **kwargs: Any) -> int:
        attempts.append(time.monotonic())
        raise OSError("lake unreachable")

    lake.append = broken  # type: ignore[method-assign]
    log = _log(lake, counts, batch_rows=2, flush_seconds=0.3, max_rows=5)
    log.start()
    try:
        for i in range(20):
            log.submit(_row(i))
            time.sleep(0.03)
        _wait(lambda: len(attempts) >= 2)
    finally:
        log.close(timeout=5)
    gaps = [b - a for a, b in itertools.pairwise(attempts[:-1])]  # the last one: at close
    assert all(gap >= 0.25 for gap in gaps), gaps
    assert counts.dropped > 0 and log.pending <= 5  # bounded memory, drops counted
