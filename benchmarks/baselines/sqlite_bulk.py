"""A plain sqlite bulk insert: one row per entity, one column per feature, one transaction.

The floor of writing the same rows the online materialization writes: what Feast's SQLite
online store (one row per entity and feature, each value a serialized protobuf) is compared
with.
"""

import sqlite3
from pathlib import Path

import polars as pl


def bulk_insert(path: Path, tables: dict[str, pl.DataFrame]) -> int:
    """Write each frame to its own table of a new sqlite file; return the rows written."""
    written = 0
    con = sqlite3.connect(path)
    try:
        for name, frame in tables.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            keys = f'"{frame.columns[0]}"'
            con.execute(f'CREATE TABLE "{name}" ({columns}, PRIMARY KEY ({keys}))')
            marks = ", ".join("?" for _ in frame.columns)
            rows = frame.with_columns(
                pl.col(pl.Datetime).dt.epoch("us"), pl.col(pl.Date).cast(pl.Int32)
            )
            with con:  # one transaction per table
                con.executemany(
                    f'INSERT OR REPLACE INTO "{name}" VALUES ({marks})', rows.iter_rows()
                )
            written += frame.height
    finally:
        con.close()
    return written
