"""Every landed row ends in bronze or quarantine: the counts must reconcile."""

from dataclasses import dataclass

import polars as pl

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.engine import load_ledger
from ml_platform.lib.ingestion.sources import Source
from ml_platform.lib.lake.delta import DeltaLake


@dataclass(frozen=True)
class Reconciliation:
    """Per-file comparison of the ledger with what the tables hold."""

    files: int
    rows_read: int
    rows_in_bronze: int
    rows_in_quarantine: int
    mismatches: pl.DataFrame

    @property
    def passed(self) -> bool:
        """Whether every file reconciles."""
        return self.mismatches.height == 0


def reconcile(lake: DeltaLake, source: Source) -> Reconciliation:
    """Compare, for each ingested file of ``source``, ledger counts with table contents.

    For every file: rows read = rows accepted + rows quarantined; bronze holds exactly the
    accepted rows; quarantine holds exactly the quarantined rows.
    """
    ledger = load_ledger(lake, source).select(
        "source_file", "source_file_id", "rows_read", "rows_accepted", "rows_quarantined"
    )
    bronze = _counts(lake, tables.bronze_table(source), None, "in_bronze")
    quarantine = _counts(lake, tables.QUARANTINE_TABLE, source.name, "in_quarantine")
    joined = (
        ledger.join(bronze, on="source_file_id", how="full", coalesce=True)
        .join(quarantine, on="source_file_id", how="full", coalesce=True)
        .with_columns(pl.col("in_bronze", "in_quarantine").fill_null(0))
    )
    mismatches = joined.filter(
        pl.col("rows_read").is_null()
        | (pl.col("rows_read") != pl.col("rows_accepted") + pl.col("rows_quarantined"))
        | (pl.col("rows_accepted") != pl.col("in_bronze"))
        | (pl.col("rows_quarantined") != pl.col("in_quarantine"))
    )
    return Reconciliation(
        files=ledger.height,
        rows_read=int(ledger.get_column("rows_read").sum()),
        rows_in_bronze=int(joined.get_column("in_bronze").sum()),
        rows_in_quarantine=int(joined.get_column("in_quarantine").sum()),
        mismatches=mismatches,
    )


def _counts(lake: DeltaLake, table: str, source: str | None, name: str) -> pl.DataFrame:
    schema = {"source_file_id": pl.Int64(), name: pl.Int64()}
    if not lake.exists(table):
        return pl.DataFrame(schema=schema)
    frame = lake.scan(table)
    if source is not None:
        frame = frame.filter(pl.col("source") == source, pl.col("source_row").is_not_null())
    return (
        frame.group_by("source_file_id").agg(pl.len().cast(pl.Int64).alias(name)).collect()
    ).cast(schema)
