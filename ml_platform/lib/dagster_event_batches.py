"""Dagster's local SQLite event log, storing each batch of events in one transaction per file.

Dagster hands the event log its events in batches where it has many at once — the
``ASSET_MATERIALIZATION_PLANNED`` event of every asset and partition when a run is created, the
per-partition materializations of a step that writes a partition range — once
``DAGSTER_EVENT_BATCH_SIZE`` is above 0 (the package sets it, see ``ml_platform/__init__``).
The stock SQLite storage still writes such a batch one event at a time (the base class's
``store_event_batch``): each asset event is two SQLite transactions, in the run's file and in
the cross-run index, each on a new engine and connection. The demo's 90-day feature run alone
creates 360 planned events that way.

``BatchedSqliteEventLogStorage`` writes a batch's asset events into the run's file in one
transaction and mirrors them into the index in another, with the same rows, in the same order,
through the same helpers as ``SqliteEventLogStorage.store_event``; each event is serialized once
for both files, and each asset's record in the index is written once per kind of event in the
batch, ending as ``store_event`` leaves it. Any other event of a batch (check and run-status
events, rare there) still goes through ``store_event``. Single events are unchanged.
``deploy/local/dagster.yaml`` configures it with ``instance_dir: {env: DAGSTER_HOME}``, so its
files stay exactly where ``storage: sqlite`` puts them (``history/runs/``): an existing instance
keeps its history. Production runs on PostgreSQL (``deploy/``), which this does not touch.
Importing this module also keeps Dagster's migration scripts loaded once per process
(``lib/dagster_migrations.py``): creating each run's file otherwise re-read them twice.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster._config import StringSource
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._serdes import ConfigurableClassData

from ml_platform.lib import dagster_migrations

dagster_migrations.install()  # each new run file: check and stamp without re-reading migrations
# Where Dagster's `storage: sqlite` keeps the event log under the instance's folder.
EVENT_LOG_DIR = ("history", "runs")


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose ``store_event_batch`` is one transaction per file."""

    def __init__(self, instance_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(str(Path(instance_dir).joinpath(*EVENT_LOG_DIR)), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """``instance_dir``: the instance's folder (``$DAGSTER_HOME``)."""
        return {"instance_dir": StringSource}

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "BatchedSqliteEventLogStorage":
        """The storage ``dagster.yaml`` configures."""
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store ``events``: each run's asset events in one transaction per file."""
        by_run: dict[str, list[EventLogEntry]] = {}
        for entry in events:
            by_run.setdefault(entry.run_id, []).append(entry)
        for run_id, entries in by_run.items():
            assets = [entry for entry in entries if is_asset_event(entry)]
            if assets:
                self._store_asset_events(run_id, assets)
            for entry in entries:
                if not is_asset_event(entry):
                    self.store_event(entry)

    def _store_asset_events(self, run_id: str, entries: list[EventLogEntry]) -> None:
        """What ``store_event`` does for each asset event, in one transaction per file.

        Each event is serialized once, for both files (``store_event`` serializes it for each).
        The two files cannot share a transaction (as in ``store_event``). Once the run's file
        holds the events, a failing index transaction is retried event by event rather than
        raised: Dagster's fallback for a failed batch would store every event again.
        """
        rows = [self._event_to_row(entry) for entry in entries]
        with self.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        try:
            self._mirror_into_index(entries, rows)
        except Exception:  # the same writes, one transaction each (raises if they fail too)
            for entry, row in zip(entries, rows, strict=True):
                self._mirror_into_index([entry], [row])

    def _mirror_into_index(self, entries: list[EventLogEntry], rows: list[dict[str, Any]]) -> None:
        """The cross-run index's rows for asset events: event, tags, asset record.

        The asset record (one row per asset key: its last materialization, last run, last event
        time) is written for the last event of each key and kind only: ``store_event`` rewrites
        it for every event, and an event's kind decides which columns it sets, so the row ends
        the same. A range step's 90 materializations of one asset write it once, not 90 times
        (each write serializes the whole materialization again, metadata included).
        """
        with self.index_transaction() as conn:
            ids = [
                conn.execute(SqlEventLogStorageTable.insert().values(**row)).inserted_primary_key[0]
                for row in rows
            ]
            self._store_asset_event_tags(conn, entries, ids)
            for entry, event_id in last_of_each_kind(entries, ids):
                self._store_asset_event(conn, entry, event_id)


def last_of_each_kind(
    entries: Sequence[EventLogEntry], ids: Sequence[int]
) -> list[tuple[EventLogEntry, int]]:
    """The last event of each (asset key, event type) with its id, in the batch's order."""
    last: dict[tuple[str, str], int] = {}
    for position, entry in enumerate(entries):
        event = entry.get_dagster_event()
        asset = event.asset_key.to_string() if event.asset_key else ""
        last[(asset, event.event_type_value)] = position
    return [(entries[position], ids[position]) for position in sorted(last.values())]


def is_asset_event(entry: EventLogEntry) -> bool:
    """A materialization, observation or planned materialization (mirrored into the index)."""
    return entry.is_dagster_event and entry.dagster_event_type in ASSET_EVENTS
