"""Landing CSV → Delta with nothing but ``polars.read_csv`` and ``write_deltalake``.

No validation, quarantine, ledger, lineage columns, hashing or partitioning: the floor the
project's ingestion engine is compared with. Types come from Polars' own inference
(``try_parse_dates`` turns the ISO timestamps into UTC datetimes).
"""

from pathlib import Path

import polars as pl
from deltalake import write_deltalake


def ingest(files: list[Path], table_uri: str) -> int:
    """Read every CSV file and write them as one new Delta table; return the rows written."""
    frame = pl.concat([pl.read_csv(path, try_parse_dates=True) for path in files])
    write_deltalake(table_uri, frame, mode="overwrite")
    return frame.height
