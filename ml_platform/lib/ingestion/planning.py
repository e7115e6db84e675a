"""Deciding which ingestion runs new landing files need.

Shared by the landing sensor and the ``ml-platform`` CLI so both request exactly the same runs:
transactions files map to the event-date partitions their rows fall on (one run per contiguous
range), the other sources to one unpartitioned run each. Run keys derive from the files'
identities, so a restarted daemon never requests the same ingestion twice.
"""

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ml_platform.lib.ingestion.engine import load_ledger
from ml_platform.lib.ingestion.landing import LandingFile, discover, is_settled
from ml_platform.lib.ingestion.parsing import LandingFileError, valid_dates
from ml_platform.lib.ingestion.sources import INGESTION_ORDER, SOURCES, Source
from ml_platform.lib.lake.delta import DeltaLake


@dataclass(frozen=True)
class PlannedRun:
    """One ingestion run to request."""

    source: str
    files: tuple[LandingFile, ...]
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    @property
    def run_key(self) -> str:
        """Deterministic key from the files' identities and the date range."""
        digest = hashlib.sha1(
            "\n".join(sorted(f.fingerprint for f in self.files)).encode("utf-8")
        ).hexdigest()[:16]
        suffix = f":{self.first_date}..{self.last_date}" if self.first_date else ""
        return f"landing:{self.source}:{digest}{suffix}"


@dataclass(frozen=True)
class LandingScan:
    """New or changed landing files, split into ready and still-being-written."""

    ready: dict[str, list[LandingFile]]
    pending: list[LandingFile]
    in_flight: dict[str, str]

    @property
    def files(self) -> list[LandingFile]:
        """All ready files."""
        return [f for files in self.ready.values() for f in files]


def scan_landing(
    lake: DeltaLake,
    landing_dir: str,
    now: dt.datetime,
    settle_seconds: float,
    already_requested: dict[str, str] | None = None,
) -> LandingScan:
    """Files not yet in the ledger with their current size and mtime, nor already requested.

    ``already_requested`` maps relative paths to the fingerprints a previous call returned;
    those files are reported as ``in_flight`` until the ledger records them.
    """
    already_requested = already_requested or {}
    ready: dict[str, list[LandingFile]] = {}
    pending: list[LandingFile] = []
    in_flight: dict[str, str] = {}
    for source in SOURCES.values():
        ingested = _ingested_identities(lake, source)
        for file in discover(landing_dir, source.name):
            if (file.relpath, file.size, file.modified_at) in ingested:
                continue
            if already_requested.get(file.relpath) == file.fingerprint:
                in_flight[file.relpath] = file.fingerprint  # requested, not in the ledger yet
                continue
            if not is_settled(file, now, settle_seconds):
                pending.append(file)
                continue
            ready.setdefault(source.name, []).append(file)
    return LandingScan(ready=ready, pending=pending, in_flight=in_flight)


def plan_runs(
    scan: LandingScan,
    is_valid_date: Callable[[dt.date], bool],
    fallback_date: dt.date,
) -> list[PlannedRun]:
    """The runs that ingest ``scan``'s ready files and refresh the partitions they touch.

    Sources come in ``INGESTION_ORDER`` (what a source's silver table reads first), each
    source's runs by date.
    """
    runs: list[PlannedRun] = []
    for name, files in sorted(scan.ready.items(), key=lambda item: INGESTION_ORDER.index(item[0])):
        source = SOURCES[name]
        if not source.partitioned:
            runs.append(PlannedRun(source=name, files=tuple(files)))
            continue
        by_date: dict[dt.date, list[LandingFile]] = {}
        for file in files:
            dates = {d for d in event_dates(file, source) if is_valid_date(d)} or {fallback_date}
            for day in dates:
                by_date.setdefault(day, []).append(file)
        for first, last in contiguous_ranges(by_date):
            covered = {f.relpath: f for d, fs in by_date.items() if first <= d <= last for f in fs}
            runs.append(PlannedRun(name, tuple(covered.values()), first, last))
    return runs


def event_dates(file: LandingFile, source: Source) -> set[dt.date]:
    """The event dates of the file's rows with a valid date (``valid_dates``; bounded memory)."""
    try:
        return valid_dates(file, source)
    except LandingFileError:  # unreadable: no valid rows
        return set()


def contiguous_ranges(dates: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Group dates into inclusive ``(first, last)`` runs of consecutive days."""
    ordered = sorted(set(dates))
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _ingested_identities(lake: DeltaLake, source: Source) -> set[tuple[str, int, dt.datetime]]:
    ledger = load_ledger(lake, source).select("source_file", "size_bytes", "modified_at")
    return {(row[0], row[1], row[2]) for row in ledger.iter_rows()}
