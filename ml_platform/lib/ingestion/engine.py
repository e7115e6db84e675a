"""Landing files → bronze Delta tables, file by file, all or nothing.

The unit of ingestion is a landing file. A file that is new or whose content changed is parsed;
its accepted rows replace whatever that file contributed to the bronze table before, its bad
rows replace its earlier quarantine rows, and its ledger entry records what happened. Files
already in the ledger with the same size and modification time are skipped, so re-landing an
identical file adds nothing. Removing a file from the landing folder removes nothing: bronze is
the record of what was ingested.

All writes of one call happen inside a :class:`LakeTransaction`: if any step fails, bronze,
quarantine and ledger are restored to the versions they had before the call.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.landing import LandingFile, discover
from ml_platform.lib.ingestion.parsing import ParsedFile, parse_file
from ml_platform.lib.ingestion.sources import Source
from ml_platform.lib.lake import predicates as p
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.lake.transaction import LakeTransaction

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FileOutcome:
    """What ingesting one file did."""

    source_file: str
    status: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    error: str | None
    extra_columns: tuple[str, ...]


@dataclass
class IngestionReport:
    """Summary of one ingestion call for one source."""

    source: str
    files_seen: int = 0
    files_unchanged: int = 0
    files_touched: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)
    dates_touched: set[dt.date] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        """Data rows read from new or changed files."""
        return sum(o.rows_read for o in self.outcomes)

    @property
    def rows_accepted(self) -> int:
        """Rows written to bronze."""
        return sum(o.rows_accepted for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        """Rows written to quarantine."""
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def rejected(self) -> list[FileOutcome]:
        """Files quarantined whole."""
        return [o for o in self.outcomes if o.status == "rejected"]


def ingest_source(
    lake: DeltaLake,
    landing_dir: str | Path,
    source: Source,
    batch_id: str,
    now: dt.datetime | None = None,
    progress: ProgressCallback | None = None,
) -> IngestionReport:
    """Ingest every new or changed landing file of ``source`` into the lake."""
    now = now or dt.datetime.now(dt.UTC)
    files = discover(landing_dir, source.name)
    ledger = load_ledger(lake, source)
    known = {row["source_file_id"]: row for row in ledger.iter_rows(named=True)}
    report = IngestionReport(source=source.name, files_seen=len(files))

    changed: list[tuple[LandingFile, str]] = []
    touched: list[tuple[LandingFile, str, dict]] = []
    for file in files:
        entry = known.get(file.file_id)
        if entry and entry["size_bytes"] == file.size and entry["modified_at"] == file.modified_at:
            report.files_unchanged += 1
            continue
        digest = file.content_hash()
        if entry and entry["content_hash"] == digest:
            touched.append((file, digest, entry))  # same bytes, new mtime: nothing to re-ingest
        else:
            changed.append((file, digest))
    report.files_touched = len(touched)
    if not changed and not touched:
        return report

    parsed: list[tuple[ParsedFile, str]] = []
    for index, (file, digest) in enumerate(changed, start=1):
        result = parse_file(file, source)
        parsed.append((result, digest))
        if result.error:
            logger.warning("rejected %s", result.error)
        if progress:
            progress(index, len(changed), file.relpath)

    bronze = _bronze_rows(parsed, source, now, batch_id)
    quarantine = _quarantine_rows(parsed, source, now, batch_id)
    ledger_rows = _ledger_rows(parsed, touched, source, now, batch_id)
    new_dates = (
        set(bronze.get_column("event_date").unique().to_list()) if source.partitioned else set()
    )
    old_dates = {
        d["event_date"]
        for file, _ in changed
        for d in (known.get(file.file_id) or {}).get("accepted_by_date") or []
    }
    report.dates_touched = new_dates | old_dates
    changed_ids = [file.file_id for file, _ in changed]

    with LakeTransaction(lake) as tx:
        if changed_ids:
            tx.replace(
                tables.QUARANTINE_TABLE,
                quarantine,
                p.all_of(
                    p.text_equals("source", source.name), p.int_in("source_file_id", changed_ids)
                ),
                tables.QUARANTINE_SCHEMA,
                partition_by=["source"],
            )
            predicate = p.int_in("source_file_id", changed_ids)
            if source.partitioned and report.dates_touched:
                predicate = p.all_of(p.date_in("event_date", report.dates_touched), predicate)
            if not source.partitioned or report.dates_touched:
                tx.replace(
                    tables.bronze_table(source),
                    bronze,
                    predicate,
                    tables.bronze_schema(source),
                    partition_by=tables.bronze_partition_by(source),
                )
        ledger_ids = changed_ids + [file.file_id for file, _, _ in touched]
        tx.replace(
            tables.LEDGER_TABLE,
            ledger_rows,
            p.all_of(p.text_equals("source", source.name), p.int_in("source_file_id", ledger_ids)),
            tables.LEDGER_SCHEMA,
            partition_by=["source"],
        )
        report.versions = dict(tx.versions_after)

    report.outcomes = [
        FileOutcome(
            source_file=result.file.relpath,
            status=result.status,
            rows_read=result.rows_read,
            rows_accepted=result.accepted.height,
            rows_quarantined=result.quarantined.height,
            error=result.error,
            extra_columns=tuple(result.extra_columns),
        )
        for result, _ in parsed
    ]
    return report


def load_ledger(lake: DeltaLake, source: Source) -> pl.DataFrame:
    """The ledger entries of ``source`` (empty if nothing was ingested yet)."""
    if not lake.exists(tables.LEDGER_TABLE):
        return pl.DataFrame(schema=tables.LEDGER_SCHEMA)
    return lake.scan(tables.LEDGER_TABLE).filter(pl.col("source") == source.name).collect()


def _lineage(file: LandingFile, now: dt.datetime, batch_id: str) -> list[pl.Expr]:
    return [
        pl.lit(file.relpath).alias("source_file"),
        pl.lit(file.file_id, dtype=pl.Int64).alias("source_file_id"),
        pl.lit(file.modified_at).dt.cast_time_unit("us").alias("landed_at"),
        pl.lit(now).dt.cast_time_unit("us").alias("ingested_at"),
        pl.lit(batch_id).alias("batch_id"),
    ]


def _bronze_rows(
    parsed: list[tuple[ParsedFile, str]], source: Source, now: dt.datetime, batch_id: str
) -> pl.DataFrame:
    schema = tables.bronze_schema(source)
    frames = []
    for result, _ in parsed:
        frame = result.accepted.with_columns(_lineage(result.file, now, batch_id))
        if source.partitioned:
            assert source.date_column is not None
            frame = frame.with_columns(pl.col(source.date_column).dt.date().alias("event_date"))
        frames.append(frame.select(schema.names()).cast(schema))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _quarantine_rows(
    parsed: list[tuple[ParsedFile, str]], source: Source, now: dt.datetime, batch_id: str
) -> pl.DataFrame:
    schema = tables.QUARANTINE_SCHEMA
    frames = []
    for result, _ in parsed:
        lineage = _lineage(result.file, now, batch_id)
        frame = result.quarantined.with_columns(
            pl.lit(source.name).alias("source"),
            *[e for e in lineage if e.meta.output_name() != "ingested_at"],
            pl.lit(now).dt.cast_time_unit("us").alias("quarantined_at"),
        )
        if result.error and frame.height == 0:  # unreadable file: one file-level entry
            frame = pl.DataFrame(
                {"source_row": [None], "raw_record": [None], "reason": [result.error]},
                schema={"source_row": pl.Int64, "raw_record": pl.String, "reason": pl.String},
            ).with_columns(
                pl.lit(source.name).alias("source"),
                *[e for e in lineage if e.meta.output_name() != "ingested_at"],
                pl.lit(now).dt.cast_time_unit("us").alias("quarantined_at"),
            )
        frames.append(frame.select(schema.names()).cast(schema))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _ledger_rows(
    parsed: list[tuple[ParsedFile, str]],
    touched: list[tuple[LandingFile, str, dict]],
    source: Source,
    now: dt.datetime,
    batch_id: str,
) -> pl.DataFrame:
    rows: list[dict] = []
    for result, digest in parsed:
        by_date: list[dict] = []
        if source.partitioned and result.accepted.height:
            assert source.date_column is not None
            counts = (
                result.accepted.group_by(pl.col(source.date_column).dt.date().alias("event_date"))
                .len("rows")
                .sort("event_date")
            )
            by_date = counts.to_dicts()
        rows.append(
            {
                "source": source.name,
                "source_file": result.file.relpath,
                "source_file_id": result.file.file_id,
                "size_bytes": result.file.size,
                "modified_at": result.file.modified_at,
                "content_hash": digest,
                "status": result.status,
                "error": result.error,
                "rows_read": result.rows_read,
                "rows_accepted": result.accepted.height,
                "rows_quarantined": result.quarantined.height,
                "extra_columns": ",".join(result.extra_columns) or None,
                "accepted_by_date": by_date,
                "ingested_at": now,
                "batch_id": batch_id,
            }
        )
    for file, _digest, entry in touched:
        rows.append({**entry, "modified_at": file.modified_at, "size_bytes": file.size})
    return pl.DataFrame(rows, schema=tables.LEDGER_SCHEMA)
