"""Landing files → bronze Delta tables, file by file, all or nothing.

The unit of ingestion is a landing file. A file that is new or whose content changed is parsed;
its accepted rows replace whatever that file contributed to the bronze table before, its bad
rows replace its earlier quarantine rows, and its ledger entry records what happened. Files
already in the ledger with the same size and modification time are skipped, so re-landing an
identical file adds nothing. Removing a file from the landing folder removes nothing: bronze is
the record of what was ingested. A file still being written (modified less than
``settle_seconds`` ago, or whose size or modification time changed while it was read) is left
for a later run: it is neither parsed into bronze nor recorded in the ledger.

All writes of one call happen inside a :class:`LakeTransaction`: if any step fails, bronze,
quarantine and ledger are restored to the versions they had before the call. Rows of a file
are written only once the whole file is parsed and found unchanged (``spool``), in pieces,
while the next files are parsed; the ledger is written last.
"""

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.landing import LandingFile, discover, is_settled
from ml_platform.lib.ingestion.parsing import (
    CHUNK_ROWS,
    LandingFileError,
    ParsedFile,
    file_status,
    parse_chunks,
)
from ml_platform.lib.ingestion.sources import Source
from ml_platform.lib.ingestion.spool import SPOOL_ROWS, BackgroundCommits, PieceWriter, Spools
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
    files_pending: list[str] = field(default_factory=list)
    files_vanished: list[str] = field(default_factory=list)
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
    settle_seconds: float = 0.0,
    chunk_rows: int = CHUNK_ROWS,
    spool_rows: int = SPOOL_ROWS,
) -> IngestionReport:
    """Ingest every new or changed, fully written landing file of ``source`` into the lake.

    Files modified less than ``settle_seconds`` before ``now``, or that change while they are
    read, are still being written: they are skipped (``IngestionReport.files_pending``) and
    picked up by a later call once they are complete. Files deleted after they were listed are
    skipped too (``IngestionReport.files_vanished``). Files are read ``chunk_rows`` rows at a
    time; once a file is parsed whole and found unchanged, its rows are written in pieces of
    about ``spool_rows`` rows as they accumulate (one Delta commit each, all in one lake
    transaction, while later files are parsed). A file with more than ``spool_rows`` rows
    spills the rest to a temporary folder until it is complete. Memory follows those two
    sizes, not the files'.
    """
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
        if settle_seconds > 0 and not is_settled(file, now, settle_seconds):
            report.files_pending.append(file.relpath)
            continue
        try:
            digest = file.content_hash()
        except FileNotFoundError:  # deleted since it was listed: nothing to ingest
            report.files_vanished.append(file.relpath)
            continue
        if entry and entry["content_hash"] == digest:
            touched.append((file, digest, entry))  # same bytes, new mtime: nothing to re-ingest
        else:
            changed.append((file, digest))

    parsed: list[_FileResult] = []
    with (
        Spools(spool_rows) as spools,
        LakeTransaction(lake) as tx,
        BackgroundCommits() as commits,  # exits first: no write in flight when tx restores
    ):
        writers = _Writers(tx, commits, source, known, spool_rows)
        for index, (file, digest) in enumerate(changed, start=1):
            rows = _FileRows(spools, source, (now, batch_id))
            result = _parse_into(rows, file, digest, chunk_rows)
            state = _state_since_discovery(file)
            if state is not None:  # still growing (what was read may be cut short) or gone
                rows.discard()
                (report.files_vanished if state == "vanished" else report.files_pending).append(
                    file.relpath
                )
                continue
            parsed.append(result)
            writers.add(result, rows)
            if result.error:
                logger.warning("rejected %s", result.error)
            if progress:
                progress(index, len(changed), file.relpath)
        if report.files_pending or report.files_vanished:
            logger.info(
                "left for a later run: %s still being written, %s deleted since listed",
                report.files_pending,
                report.files_vanished,
            )
        report.files_touched = len(touched)
        if not parsed and not touched:
            return report
        writers.finish()
        commits.wait()
        report.dates_touched = {d for r in parsed for d in r.accepted_by_date} | writers.old_dates
        ledger_ids = [r.file.file_id for r in parsed] + [file.file_id for file, _, _ in touched]
        tx.replace(
            tables.LEDGER_TABLE,
            _ledger_rows(parsed, touched, source, now, batch_id),
            p.all_of(writers.in_source, p.int_in("source_file_id", ledger_ids)),
            tables.LEDGER_SCHEMA,
            partition_by=["source"],
        )
        report.versions = dict(tx.versions_after)

    report.outcomes = [r.outcome() for r in parsed]
    return report


def _old_dates(known: dict[int, dict], file_id: int) -> list[dt.date]:
    """The dates of the rows a file gave bronze before (from its ledger entry)."""
    return [d["event_date"] for d in (known.get(file_id) or {}).get("accepted_by_date") or []]


class _Writers:
    """The bronze and quarantine writers of one ingestion call."""

    def __init__(
        self,
        tx: LakeTransaction,
        commits: BackgroundCommits,
        source: Source,
        known: dict[int, dict],
        limit: int,
    ) -> None:
        self.known = known
        self.old_dates: set[dt.date] = set()  # where the files' earlier bronze rows were
        self.in_source = p.text_equals("source", source.name)
        self.bronze = PieceWriter(
            tx,
            commits,
            tables.bronze_table(source),
            tables.bronze_schema(source),
            tables.bronze_partition_by(source),
            scope=None,
            limit=limit,
        )
        self.quarantine = PieceWriter(
            tx,
            commits,
            tables.QUARANTINE_TABLE,
            tables.QUARANTINE_SCHEMA,
            ["source"],
            scope=self.in_source,
            limit=limit,
        )

    def add(self, result: "_FileResult", rows: "_FileRows") -> None:
        """Write a complete file's rows (as pieces fill up), replacing what it gave before."""
        file_id = result.file.file_id
        old_dates = _old_dates(self.known, file_id)
        self.old_dates.update(old_dates)
        self.quarantine.add(file_id, (), rows.quarantine)
        self.bronze.add(file_id, old_dates, rows.bronze)
        rows.discard()

    def finish(self) -> None:
        """Write what is left."""
        self.quarantine.finish()
        self.bronze.finish()


def load_ledger(lake: DeltaLake, source: Source) -> pl.DataFrame:
    """The ledger entries of ``source`` (empty if nothing was ingested yet)."""
    if not lake.exists(tables.LEDGER_TABLE):
        return pl.DataFrame(schema=tables.LEDGER_SCHEMA)
    return lake.scan(tables.LEDGER_TABLE).filter(pl.col("source") == source.name).collect()


def _state_since_discovery(file: LandingFile) -> str | None:
    """``vanished``, ``changed`` (size or mtime differ from discovery), or ``None``."""
    try:
        stat = file.path.stat()
    except FileNotFoundError:
        return "vanished"
    return None if (stat.st_size, stat.st_mtime_ns) == (file.size, file.mtime_ns) else "changed"


def _lineage(file: LandingFile, now: dt.datetime, batch_id: str) -> list[pl.Expr]:
    return [
        pl.lit(file.relpath).alias("source_file"),
        pl.lit(file.file_id, dtype=pl.Int64).alias("source_file_id"),
        pl.lit(file.modified_at).dt.cast_time_unit("us").alias("landed_at"),
        pl.lit(now).dt.cast_time_unit("us").alias("ingested_at"),
        pl.lit(batch_id).alias("batch_id"),
    ]


@dataclass
class _FileResult:
    """What parsing one file gave, counted chunk by chunk (the rows themselves are spooled)."""

    file: LandingFile
    digest: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    accepted_by_date: Counter[dt.date] = field(default_factory=Counter)
    extra_columns: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        """``rejected``, ``empty``, ``partial`` (some rows quarantined) or ``ingested``."""
        return file_status(self.error, self.rows_read, self.rows_quarantined)

    def add(self, chunk: ParsedFile, source: Source) -> None:
        """Count one parsed chunk of the file."""
        if not self.rows_read:
            self.extra_columns, self.error = chunk.extra_columns, chunk.error
        self.rows_read += chunk.rows_read
        self.rows_accepted += chunk.accepted.height
        self.rows_quarantined += chunk.quarantined.height
        if source.date_column is not None and chunk.accepted.height:
            dates = chunk.accepted.get_column(source.date_column).dt.date().value_counts()
            self.accepted_by_date.update(dict(dates.iter_rows()))

    def outcome(self) -> FileOutcome:
        """The report line of the file."""
        return FileOutcome(
            source_file=self.file.relpath,
            status=self.status,
            rows_read=self.rows_read,
            rows_accepted=self.rows_accepted,
            rows_quarantined=self.rows_quarantined,
            error=self.error,
            extra_columns=tuple(self.extra_columns),
        )


class _FileRows:
    """Bronze and quarantine rows parsed from one file, with their lineage, until written."""

    def __init__(self, spools: Spools, source: Source, lineage: tuple[dt.datetime, str]) -> None:
        self.source = source
        self.lineage = lineage  # ingested at, batch id
        self.bronze = spools.spool("bronze", tables.bronze_schema(source))
        self.quarantine = spools.spool("quarantine", tables.QUARANTINE_SCHEMA)

    def add(self, chunk: ParsedFile) -> None:
        """Spool a parsed chunk's accepted and quarantined rows."""
        now, batch_id = self.lineage
        schema = self.bronze.schema
        frame = chunk.accepted.with_columns(_lineage(chunk.file, now, batch_id))
        if self.source.date_column is not None:
            frame = frame.with_columns(
                pl.col(self.source.date_column).dt.date().alias("event_date")
            )
        self.bronze.add(frame.select(schema.names()).cast(schema))
        self.quarantine.add(self._quarantined(chunk.file, chunk.quarantined))

    def add_file_entry(self, file: LandingFile, error: str) -> None:
        """Spool the one quarantine entry of a file rejected with no rows to show."""
        entry = pl.DataFrame(
            {"source_row": [None], "raw_record": [None], "reason": [error]},
            schema={"source_row": pl.Int64, "raw_record": pl.String, "reason": pl.String},
        )
        self.quarantine.add(self._quarantined(file, entry))

    def clear(self) -> None:
        """Forget every row spooled so far."""
        self.bronze.clear()
        self.quarantine.clear()

    def discard(self) -> None:
        """Forget every row and remove the spools' folders."""
        self.bronze.remove()
        self.quarantine.remove()

    def _quarantined(self, file: LandingFile, frame: pl.DataFrame) -> pl.DataFrame:
        now, batch_id = self.lineage
        lineage = [
            e for e in _lineage(file, now, batch_id) if e.meta.output_name() != "ingested_at"
        ]
        schema = self.quarantine.schema
        return (
            frame.with_columns(
                pl.lit(self.source.name).alias("source"),
                *lineage,
                pl.lit(now).dt.cast_time_unit("us").alias("quarantined_at"),
            )
            .select(schema.names())
            .cast(schema)
        )


def _parse_into(rows: _FileRows, file: LandingFile, digest: str, chunk_rows: int) -> _FileResult:
    """Parse ``file`` chunk by chunk into ``rows``; count what it gave."""
    result = _FileResult(file, digest)
    try:
        for chunk in parse_chunks(file, rows.source, chunk_rows):
            result.add(chunk, rows.source)
            rows.add(chunk)
    except LandingFileError as error:  # unreadable, maybe after some chunks: reject it whole
        rows.clear()
        result = _FileResult(file, digest, error=str(error))
    if result.error and not result.rows_quarantined:  # no rows to show: one file-level entry
        rows.add_file_entry(file, result.error)
    return result


def _ledger_rows(
    parsed: list[_FileResult],
    touched: list[tuple[LandingFile, str, dict]],
    source: Source,
    now: dt.datetime,
    batch_id: str,
) -> pl.DataFrame:
    rows: list[dict] = []
    for result in parsed:
        by_date = [{"event_date": d, "rows": n} for d, n in sorted(result.accepted_by_date.items())]
        rows.append(
            {
                "source": source.name,
                "source_file": result.file.relpath,
                "source_file_id": result.file.file_id,
                "size_bytes": result.file.size,
                "modified_at": result.file.modified_at,
                "content_hash": result.digest,
                "status": result.status,
                "error": result.error,
                "rows_read": result.rows_read,
                "rows_accepted": result.rows_accepted,
                "rows_quarantined": result.rows_quarantined,
                "extra_columns": ",".join(result.extra_columns) or None,
                "accepted_by_date": by_date,
                "ingested_at": now,
                "batch_id": batch_id,
            }
        )
    for file, _digest, entry in touched:
        rows.append({**entry, "modified_at": file.modified_at, "size_bytes": file.size})
    return pl.DataFrame(rows, schema=tables.LEDGER_SCHEMA)
