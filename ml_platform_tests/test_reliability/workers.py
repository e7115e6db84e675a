"""Child processes for the fault and concurrency tests, started as fresh interpreters.

Run as ``python -m ml_platform_tests.test_reliability.workers <command> <args…>``: a fresh
interpreter (not ``fork``: delta-rs panics in a forked child, FINDINGS.md) that imports only
the lake code, not the test package's conftest.
"""

import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa

from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.lake.transaction import LakeTransaction

BATCH_ROWS = 50_000


def day_rows(day: str, start: int, count: int, tag: str) -> pl.DataFrame:
    """``count`` rows of one day with ids ``start…`` and a writer tag."""
    return pl.DataFrame(
        {
            "id": pl.int_range(start, start + count, eager=True),
            "event_date": pl.Series([day] * count).str.to_date(),
            "writer": [tag] * count,
            "payload": [f"{tag}-payload-{i:08d}" for i in range(count)],
        }
    )


def stalled_write(root: str, table: str, day: str, batches: str, marker: str) -> None:
    """Replace ``day`` with a stream of batches, then stall mid-stream until killed.

    The first ``batches`` batches are handed to the writer, the marker file is written, and
    the generator blocks: the writer is in the middle of the write (data files being
    produced, nothing committed) when the parent kills this process.
    """
    template = day_rows(day, 0, BATCH_ROWS, "killed").to_arrow()

    def stream() -> Iterator[pa.RecordBatch]:
        for index in range(int(batches)):
            ids = pa.array(range(index * BATCH_ROWS, (index + 1) * BATCH_ROWS), pa.int64())
            yield template.set_column(0, "id", ids).to_batches()[0]
        Path(marker).touch()
        while True:  # the writer waits for the next batch: SIGKILL lands mid-write
            time.sleep(0.05)

    reader = pa.RecordBatchReader.from_batches(template.schema, stream())
    start = dt.date.fromisoformat(day)
    DeltaLake(root).replace(
        table,
        reader,  # type: ignore[arg-type]  # write_deltalake streams any Arrow stream
        predicates.date_range("event_date", start, start + dt.timedelta(days=1)),
        ["event_date"],
    )


def replace_day(root: str, table: str, day: str, tag: str, rows: str, go: str) -> None:
    """Wait for the ``go`` file, then replace ``day`` with ``rows`` rows tagged ``tag``."""
    frame = day_rows(day, 0, int(rows), tag)
    deadline = time.monotonic() + 30
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal")
        time.sleep(0.005)
    start = dt.date.fromisoformat(day)
    with LakeTransaction(DeltaLake(root)) as tx:
        tx.replace(
            table,
            frame,
            predicates.date_range("event_date", start, start + dt.timedelta(days=1)),
            frame.schema,
            ["event_date"],
        )
    sys.stdout.write(f"committed {tag}\n")


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"stalled_write": stalled_write, "replace_day": replace_day}[command](*arguments)
