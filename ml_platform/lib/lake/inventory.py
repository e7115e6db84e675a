"""What the lake holds: row counts and versions per table, for summaries."""

from dataclasses import dataclass

import polars as pl

from ml_platform.lib.lake.delta import DeltaLake

TABLES = (
    "bronze/transactions",
    "bronze/chargebacks",
    "bronze/customers",
    "bronze/quarantine",
    "bronze/ingestion_ledger",
    "silver/transactions",
    "silver/labels",
    "silver/customers",
    "features/customer_daily",
    "features/merchant_daily",
    "ml/training_set",
    "ml/transaction_scores",
)


@dataclass(frozen=True)
class TableSummary:
    """Row count and version of one table (``None`` when it does not exist yet)."""

    table: str
    rows: int | None
    version: int | None
    detail: str = ""


def table_summaries(lake: DeltaLake, names: tuple[str, ...] = TABLES) -> list[TableSummary]:
    """Summaries of ``names``, in order."""
    summaries = []
    for name in names:
        version = lake.version(name)
        if version is None:
            summaries.append(TableSummary(name, None, None))
            continue
        frame = lake.scan(name)
        rows = frame.select(pl.len()).collect().item()
        detail = ""
        if name == "bronze/quarantine" and rows:
            reasons = (
                frame.with_columns(pl.col("reason").str.split(": ").list.first().alias("column"))
                .group_by("source", "column")
                .agg(pl.len().alias("rows"))
                .sort("rows", descending=True)
                .collect()
            )
            detail = "\n".join(
                f"  {r['source']:<13} {r['column']:<40} {r['rows']:>8,}"
                for r in reasons.iter_rows(named=True)
            )
        summaries.append(TableSummary(name, rows, version, detail))
    return summaries
