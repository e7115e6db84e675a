"""Every scored request, appended to a Delta table in batches, off the request path.

A request only puts one dict on a bounded in-memory queue (microseconds). A background thread
collects rows and appends them to ``serving/online_scores`` (partitioned by ``event_date``)
when ``batch_rows`` are waiting or ``flush_seconds`` after the oldest waiting row, and once
more at shutdown. A failed append keeps its rows and is retried at the next flush; a full
queue drops rows (counted) rather than slowing scoring down.

The table has the columns of ``ml/transaction_scores`` that monitoring reads (ids, event time
and date, ``score``, ``flagged``, ``model_version`` and every model feature under the same
name and type), plus the raw transaction, the shadow challenger's score, the entities that
used default features and the service's timings: drift monitoring can read online traffic
the way it reads batch scores.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from ml_platform.lib.features.catalog import FEATURE_TABLES, REQUEST_FEATURES
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.matrix import MODEL_FEATURES

logger = logging.getLogger(__name__)

_UTC_US = pl.Datetime("us", "UTC")
_FEATURE_DTYPES = {f.name: f.dtype for t in FEATURE_TABLES for f in t.features} | {
    f.name: f.dtype for f in REQUEST_FEATURES
}
LOG_SCHEMA = pl.Schema(
    {
        "transaction_id": pl.String(),
        "customer_id": pl.Int64(),
        "merchant_id": pl.Int64(),
        "event_timestamp": _UTC_US,
        "event_date": pl.Date(),
        "score": pl.Float64(),
        "flagged": pl.Boolean(),
        "model_version": pl.String(),
        "shadow_score": pl.Float64(),
        "shadow_flagged": pl.Boolean(),
        "shadow_model_version": pl.String(),
        "amount": pl.Float64(),
        "merchant_category": pl.String(),
        "channel": pl.String(),
        "country": pl.String(),
        "defaults_used": pl.List(pl.String()),
        "scored_at": _UTC_US,
        "latency_ms": pl.Float64(),
        "features_ms": pl.Float64(),
        "model_ms": pl.Float64(),
        "shadow_ms": pl.Float64(),
        # Model inputs last, as in ml/transaction_scores. "amount" is both a transaction
        # field and a request-time feature with the same value: it appears once.
        **{name: _FEATURE_DTYPES[name] for name in MODEL_FEATURES if name != "amount"},
    }
)
"""Columns and types of ``serving/online_scores``."""


def log_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The request log rows as a frame of ``LOG_SCHEMA`` (missing keys become null)."""
    columns = {name: [row.get(name) for row in rows] for name in LOG_SCHEMA.names()}
    frame = pl.DataFrame(columns, schema_overrides=dict(LOG_SCHEMA), strict=False)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in LOG_SCHEMA.items())


_POLL_SECONDS = 0.1
CHUNK_ROWS = 50
"""Rows converted to a frame per step of the writer (see ``_frame_in_chunks``)."""


def _frame_in_chunks(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """``log_frame(rows)``, built ``CHUNK_ROWS`` at a time, yielding the GIL in between.

    Turning Python rows into a frame holds the GIL in one call (~10 ms for 500 rows,
    measured), which would stall the event loop, and every request waiting on it, for that
    long. In chunks of 50 rows a request waits ~1 ms at most.
    """
    frames = []
    for start in range(0, len(rows), CHUNK_ROWS):
        frames.append(log_frame(rows[start : start + CHUNK_ROWS]))
        time.sleep(0)  # hand the GIL to the request thread if it is waiting
    return pl.concat(frames) if frames else log_frame([])


class RequestLog:
    """A bounded queue of scored requests and the thread that writes them to Delta."""

    def __init__(
        self,
        lake: DeltaLake,
        table: str,
        batch_rows: int,
        flush_seconds: float,
        max_rows: int,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Prepare the writer (``start`` launches its thread).

        Args:
            lake: Where the table lives.
            table: Table name, e.g. ``serving/online_scores``.
            batch_rows: Flush once this many rows wait.
            flush_seconds: Flush this long after the oldest waiting row at the latest.
            max_rows: Rows held in memory at most (queue and unwritten batch together).
            on_written: Called with the row count of each successful append.
            on_dropped: Called with the count of rows dropped.
            on_error: Called with the exception of a failed append.
        """
        self.lake = lake
        self.table = table
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.max_rows = max_rows
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_rows)
        self._buffer: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_written = on_written or (lambda _: None)
        self._on_dropped = on_dropped or (lambda _: None)
        self._on_error = on_error or (lambda _: None)

    @property
    def pending(self) -> int:
        """Rows accepted but not yet written."""
        return self._queue.qsize() + len(self._buffer)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self._thread.start()

    def submit(self, row: dict[str, Any]) -> bool:
        """Queue one row without blocking; ``False`` (and counted) if the queue is full."""
        try:
            self._queue.put_nowait(row)
            return True
        except queue.Full:
            self._on_dropped(1)
            return False

    def close(self, timeout: float = 30.0) -> None:
        """Write every waiting row, then stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        oldest: float | None = None  # when the oldest waiting row arrived
        not_before = 0.0  # after a failed append, no new attempt before this
        while True:
            stopping = self._stop.is_set()
            try:
                self._buffer.append(self._queue.get(timeout=_POLL_SECONDS))
                oldest = oldest or time.monotonic()
                self._drain()
            except queue.Empty:
                pass
            now = time.monotonic()
            full = len(self._buffer) >= self.batch_rows
            due = oldest is not None and now - oldest >= self.flush_seconds
            if self._buffer and (stopping or ((full or due) and now >= not_before)):
                if self._flush():
                    oldest = None
                elif stopping:
                    return  # the rows are lost: reported by on_error
                else:
                    not_before = now + self.flush_seconds  # retry one interval later
            if stopping and not self._buffer and self._queue.empty():
                return

    def _drain(self) -> None:
        while len(self._buffer) < self.batch_rows:
            try:
                self._buffer.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self) -> bool:
        rows = self._buffer
        try:
            self.lake.append(self.table, _frame_in_chunks(rows), partition_by=["event_date"])
        except Exception as error:
            logger.exception("request log: appending %d rows to %s failed", len(rows), self.table)
            self._on_error(error)
            excess = len(rows) - (self.max_rows - self._queue.qsize())
            if excess > 0:  # never hold more than max_rows in memory
                del rows[:excess]
                self._on_dropped(excess)
            return False
        self._buffer = []
        self._on_written(len(rows))
        return True
