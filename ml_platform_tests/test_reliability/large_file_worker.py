"""Child process of the large-file test: ingest a landing folder, report peak memory as JSON.

Run as ``python -m ml_platform_tests.test_reliability.large_file_worker <lake> <landing>
<chunk_rows> <spool_rows>`` in a fresh interpreter (no pytest, no ``fork``: FINDINGS.md). A
small file is first ingested into a scratch lake in several chunks, so that imports, thread
pools, the delta-rs runtime and the code pages of every path taken (chunked reads, spills, piecewise
writes) are in the baseline; what the large file adds is ``peak_kib - baseline_kib``.
"""

import json
import re
import sys
import tempfile
import time
from pathlib import Path

from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.reconcile import reconcile
from ml_platform.lib.ingestion.sources import TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake

HEADER = (
    "transaction_id,customer_id,merchant_id,amount,merchant_category,channel,country,"
    "event_timestamp"
)
WARM_UP_ROWS, WARM_UP_CHUNK_ROWS = 4_000, 1_000


def _peak_kib() -> int:
    """Peak resident set size of this process so far, in KiB (Linux ``VmHWM``).

    Not ``ru_maxrss``: Linux carries it over ``execve`` from the parent, so a child started by
    a process that once held 500 MB reports 500 MB before it has done anything.
    """
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def main(lake_root: str, landing_dir: str, chunk_rows: str, spool_rows: str) -> None:
    """Warm up, then ingest ``landing_dir`` into ``lake_root`` and print what it took."""
    with tempfile.TemporaryDirectory() as scratch:
        landing = Path(scratch) / "landing"
        (landing / TRANSACTIONS.name).mkdir(parents=True)
        rows = [f"w{i},1,7,12.50,grocery,pos,US,2026-01-02T10:00:00Z" for i in range(WARM_UP_ROWS)]
        (landing / TRANSACTIONS.name / "warm.csv").write_text("\n".join([HEADER, *rows]) + "\n")
        warm_lake = DeltaLake(f"{scratch}/lake")
        ingest_source(
            warm_lake,
            landing,
            TRANSACTIONS,
            "warm-up",
            chunk_rows=WARM_UP_CHUNK_ROWS,
            spool_rows=WARM_UP_CHUNK_ROWS,
        )
    baseline = _peak_kib()
    started = time.perf_counter()
    lake = DeltaLake(lake_root)
    report = ingest_source(
        lake,
        landing_dir,
        TRANSACTIONS,
        "large",
        chunk_rows=int(chunk_rows),
        spool_rows=int(spool_rows),
    )
    seconds = time.perf_counter() - started
    result = {
        "baseline_kib": baseline,
        "peak_kib": _peak_kib(),
        "seconds": round(seconds, 2),
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_quarantined": report.rows_quarantined,
        "reconciled": reconcile(lake, TRANSACTIONS).passed,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
