"""Parquet exports of the Delta feature tables: what Feast's offline store reads.

Feast reads ``<offline_dir>/<view_name>/*.parquet``: one file per ``feature_date``, named
``<YYYY-MM-DD>.parquet``, holding exactly that day's rows of the Delta table with the columns
of ``FeatureTable.schema``. Feast never reads the Delta folder itself (its file store reads
files the Delta log has replaced; see FINDINGS.md).

``offline_dir`` is a local folder or an object-store URI (when the lake is on one). A reader
sees either the old or the new day, never half a file: locally each file is written under a
hidden temporary name (which does not match ``*.parquet``) and renamed over the old one; on an
object store a PUT is atomic (``lake/objects.py``).
"""

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from ml_platform.lib.features.catalog import FEATURE_DATE, FeatureTable
from ml_platform.lib.lake import objects
from ml_platform.lib.lake.delta import DeltaLake

_SUFFIX = ".parquet"


EXPORT_BATCH_DAYS = 7
"""Days read from the Delta table at once: a 121-day backfill of 80k customers held every day in
memory (with a copy per day) before this bound."""


def day_file(offline_dir: str | Path, table: FeatureTable, day: dt.date) -> str | Path:
    """Where the export of one day of a table is: a ``Path``, or a URI on an object store."""
    return objects.join(offline_dir, table.view_name, f"{day.isoformat()}{_SUFFIX}")


def exported_days(offline_dir: str | Path, table: FeatureTable) -> list[dt.date]:
    """Days of a table currently exported, oldest first (temporary files ignored)."""
    days = []
    for name in objects.list_names(objects.join(offline_dir, table.view_name), _SUFFIX):
        try:
            days.append(dt.date.fromisoformat(name.removesuffix(_SUFFIX)))
        except ValueError:
            continue
    return sorted(days)


def export_days(
    lake: DeltaLake, table: FeatureTable, days: Iterable[dt.date], offline_dir: str | Path
) -> list[str | Path]:
    """Export some days of a Delta feature table to Feast's Parquet folder.

    A day with rows replaces its file atomically; a day with no rows removes its file, so the
    export always mirrors the Delta table for the days given.

    Args:
        lake: The lake holding ``table``.
        table: The feature table (``features/customer_daily`` or ``features/merchant_daily``).
        days: The ``feature_date`` values to export.
        offline_dir: Root of the exports (``store.offline_dir``: a folder or a URI).

    Returns:
        The files written, in day order (removed days are not listed).

    Raises:
        TypeError: A day is not a ``datetime.date``.
        ValueError: The Delta table's columns differ from ``table.schema``.
    """
    wanted = sorted(set(days))
    for day in wanted:
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise TypeError(f"days must be datetime.date values, got {day!r}")
    written: list[str | Path] = []
    for start in range(0, len(wanted), EXPORT_BATCH_DAYS):  # bounded memory on a long backfill
        batch = wanted[start : start + EXPORT_BATCH_DAYS]
        frame = (
            lake.scan(table.name)
            .filter(pl.col(FEATURE_DATE).is_in(pl.Series(batch, dtype=pl.Date()).implode()))
            .collect()
        )
        frame = _conformed(frame, table)
        parts = frame.partition_by(FEATURE_DATE, as_dict=True)
        by_day = {key[0]: part for key, part in parts.items()}
        for day in batch:
            target = day_file(offline_dir, table, day)
            part = by_day.get(day)
            if part is None or part.is_empty():
                objects.delete(target)
                continue
            objects.write_parquet(part.sort(table.join_key), target)
            written.append(target)
    return written


def _conformed(frame: pl.DataFrame, table: FeatureTable) -> pl.DataFrame:
    """The columns of ``table.schema`` in order; every file of a view must share one schema."""
    expected = table.schema
    missing = [name for name in expected.names() if name not in frame.schema]
    if missing:
        raise ValueError(f"{table.name} lacks columns {missing}")
    frame = frame.select(expected.names())
    wrong = {n: str(d) for n, d in frame.schema.items() if d != expected[n]}
    if wrong:
        raise ValueError(f"{table.name} columns have unexpected types: {wrong}")
    return frame
