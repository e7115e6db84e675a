"""Names and schemas of the bronze tables the ingestion writes."""

import polars as pl

from ml_platform.lib.ingestion.sources import UTC_TIMESTAMP, Source

QUARANTINE_TABLE = "bronze/quarantine"
LEDGER_TABLE = "bronze/ingestion_ledger"

LINEAGE_SCHEMA = pl.Schema(
    {
        "source_file": pl.String(),
        "source_file_id": pl.Int64(),
        "source_row": pl.Int64(),
        "landed_at": UTC_TIMESTAMP,
        "ingested_at": UTC_TIMESTAMP,
        "batch_id": pl.String(),
    }
)

QUARANTINE_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "source_file": pl.String(),
        "source_file_id": pl.Int64(),
        "source_row": pl.Int64(),
        "raw_record": pl.String(),
        "reason": pl.String(),
        "landed_at": UTC_TIMESTAMP,
        "quarantined_at": UTC_TIMESTAMP,
        "batch_id": pl.String(),
    }
)

LEDGER_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "source_file": pl.String(),
        "source_file_id": pl.Int64(),
        "size_bytes": pl.Int64(),
        "modified_at": UTC_TIMESTAMP,
        "content_hash": pl.String(),
        "status": pl.String(),
        "error": pl.String(),
        "rows_read": pl.Int64(),
        "rows_accepted": pl.Int64(),
        "rows_quarantined": pl.Int64(),
        "extra_columns": pl.String(),
        "accepted_by_date": pl.List(pl.Struct({"event_date": pl.Date(), "rows": pl.Int64()})),
        "ingested_at": UTC_TIMESTAMP,
        "batch_id": pl.String(),
    }
)


def bronze_table(source: Source) -> str:
    """The bronze table of a source, e.g. ``bronze/transactions``."""
    return f"bronze/{source.name}"


def bronze_schema(source: Source) -> pl.Schema:
    """Typed source columns, the event date for partitioned sources, then lineage columns."""
    columns = dict(source.schema)
    if source.partitioned:
        columns["event_date"] = pl.Date()
    columns.update(LINEAGE_SCHEMA)
    return pl.Schema(columns)


def bronze_partition_by(source: Source) -> list[str]:
    """Physical Delta partition columns of a source's bronze table."""
    return ["event_date"] if source.partitioned else []
