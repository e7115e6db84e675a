"""The local instance's event log stores a batch of events in one transaction per file.

Every comparison runs the same partitioned job on Dagster's own SQLite storage and on the
project's instance (``deploy/local/dagster.yaml``), both with batched event writes on.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log import SqliteEventLogStorage

from ml_platform.lib.dagster_event_batches import BatchedSqliteEventLogStorage, last_of_each_kind
from ml_platform.runner import ensure_dagster_home

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
RANGE = {
    "dagster/asset_partition_range_start": "2026-01-01",
    "dagster/asset_partition_range_end": "2026-01-31",
}
STOCK_CONFIG = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def upstream() -> None:
    """A partitioned asset written for a whole range in one step."""


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream])
def downstream() -> dg.MaterializeResult:
    """Its downstream, with metadata (stored with every partition's materialization)."""
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=downstream, blocking=True)
def downstream_is_fine() -> dg.AssetCheckResult:
    """An asset check: its planned event goes through ``store_event``."""
    return dg.AssetCheckResult(passed=True)


DEFS = dg.Definitions(
    assets=[upstream, downstream],
    asset_checks=[downstream_is_fine],
    jobs=[dg.define_asset_job("daily", [upstream, downstream])],
)


@pytest.fixture(autouse=True)
def _batched_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the package sets in every process (ml_platform/__init__).
    monkeypatch.setenv(
        "DAGSTER_EVENT_BATCH_SIZE", os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "1000")
    )


def _instance(home: Path, monkeypatch: pytest.MonkeyPatch, project: bool) -> dg.DagsterInstance:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    if project:
        ensure_dagster_home()
    else:
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(STOCK_CONFIG)
    return dg.DagsterInstance.get()


@pytest.fixture
def instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dg.DagsterInstance, dg.DagsterInstance]]:
    stock = _instance(tmp_path / "stock", monkeypatch, project=False)
    project = _instance(tmp_path / "project", monkeypatch, project=True)
    yield stock, project
    stock.dispose()
    project.dispose()


def _run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = DEFS.resolve_job_def("daily").execute_in_process(instance=instance, tags=RANGE)
    assert result.success
    return result


def _run_log(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (
            entry.dagster_event_type.value,
            entry.dagster_event.asset_key.to_user_string()
            if entry.dagster_event.asset_key
            else None,
            entry.dagster_event.partition,
        )
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None
    ]


def _connections_during(
    instance: dg.DagsterInstance, run: Callable[[dg.DagsterInstance], object]
) -> int:
    """SQLite connections opened while ``run`` runs on ``instance``."""
    opened: list[object] = []

    def count(*_: object) -> None:
        opened.append(None)

    sa.event.listen(sa.engine.Engine, "connect", count)
    try:
        run(instance)
    finally:
        sa.event.remove(sa.engine.Engine, "connect", count)
    return len(opened)


def test_the_local_instance_uses_the_batched_event_log_in_dagsters_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = _instance(tmp_path / "home", monkeypatch, project=True)
    try:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        run_id = _run(instance).run_id
        # Where `storage: sqlite` keeps them: an existing instance keeps its history.
        assert (tmp_path / "home" / "history" / "runs" / f"{run_id}.db").exists()
        assert (tmp_path / "home" / "history" / "runs" / "index.db").exists()
        assert (tmp_path / "home" / "history" / "runs.db").exists()
    finally:
        instance.dispose()


def test_a_partitioned_run_stores_what_dagsters_own_storage_stores(
    instances: tuple[dg.DagsterInstance, dg.DagsterInstance],
) -> None:
    stock, project = instances
    runs = {
        name: _run(instance).run_id for name, instance in (("stock", stock), ("project", project))
    }

    logs = {
        name: _run_log(instance, runs[name])
        for name, instance in (("stock", stock), ("project", project))
    }
    assert logs["project"] == logs["stock"]  # same events, same order
    planned = [e for e in logs["project"] if e[0] == "ASSET_MATERIALIZATION_PLANNED"]
    assert len(planned) == 2 * 31  # one per asset and partition: a failed run marks each failed

    for asset in (upstream.key, downstream.key):
        for instance, run_id in ((stock, runs["stock"]), (project, runs["project"])):
            assert len(instance.get_materialized_partitions(asset)) == 31
            latest = instance.get_latest_materialization_event(asset)
            assert latest is not None and latest.run_id == run_id
            (record,) = instance.get_asset_records([asset])
            assert record.asset_entry.last_run_id == run_id
        assert _index_rows(project, asset) == _index_rows(stock, asset)
        assert len(project.get_event_tags_for_asset(asset)) == len(
            stock.get_event_tags_for_asset(asset)
        )
    checks = {
        name: instance.event_log_storage.get_asset_check_execution_history(
            downstream_is_fine.check_key, limit=100
        )
        for name, instance in (("stock", stock), ("project", project))
    }
    assert len(checks["project"]) == len(checks["stock"]) > 31  # per partition, and the check
    assert {c.run_id for c in checks["project"]} == {runs["project"]}


def _index_rows(instance: dg.DagsterInstance, asset: dg.AssetKey) -> list[tuple[str, str | None]]:
    """The asset's planned and done materializations in the cross-run index, oldest first."""
    planned = instance.fetch_planned_materializations(asset, limit=1000, ascending=True)
    done = instance.fetch_materializations(asset, limit=1000, ascending=True)
    return [("planned", r.partition_key) for r in planned.records] + [
        ("done", r.partition_key) for r in done.records
    ]


def test_a_batch_is_one_transaction_per_file_not_two_per_event(
    instances: tuple[dg.DagsterInstance, dg.DagsterInstance],
) -> None:
    stock, project = instances
    # 62 planned events, 62 materializations (and a few dozen single events) per run
    assert _connections_during(project, _run) < _connections_during(stock, _run) / 4


def test_a_failing_index_write_is_retried_event_by_event_and_nothing_is_stored_twice(
    instances: tuple[dg.DagsterInstance, dg.DagsterInstance], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, project = instances
    storage = project.event_log_storage
    assert isinstance(storage, BatchedSqliteEventLogStorage)
    mirror = BatchedSqliteEventLogStorage._mirror_into_index
    failed: list[int] = []

    def flaky(
        self: BatchedSqliteEventLogStorage,
        entries: list[dg.EventLogEntry],
        rows: list[dict[str, object]],
    ) -> None:
        if len(entries) > 1 and not failed:
            failed.append(len(entries))
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        mirror(self, entries, rows)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "_mirror_into_index", flaky)
    run_id = _run(project).run_id
    assert failed == [62]  # the planned events' batch failed once in the index
    planned = [e for e in _run_log(project, run_id) if e[0] == "ASSET_MATERIALIZATION_PLANNED"]
    assert len(planned) == 62 and len(set(planned)) == 62
    for asset in (upstream.key, downstream.key):
        rows = _index_rows(project, asset)
        assert len(rows) == 2 * 31 and len(set(rows)) == 2 * 31


def _asset_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.EventLogEntry]:
    """The run's asset events (planned and done materializations), in the run's order."""
    return [
        entry
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None and entry.dagster_event.asset_key is not None
    ]


def _tables(folder: Path, run_id: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the event log's tables: the index's and the run's file."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    for name, file in (("index", "index.db"), ("run", f"{run_id}.db")):
        engine = sa.create_engine(f"sqlite:///{folder / file}")
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                if table in ("alembic_version", "secondary_indexes", "kvs"):
                    continue
                rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).mappings()
                # create_timestamp: the wall clock of the row's first write, not of an event
                tables[f"{name}.{table}"] = [
                    tuple(v for k, v in row.items() if k != "create_timestamp") for row in rows
                ]
        engine.dispose()
    return tables


@pytest.mark.parametrize("planned_last", [False, True])
def test_a_mixed_batch_leaves_every_table_as_storing_its_events_one_by_one_does(
    instances: tuple[dg.DagsterInstance, dg.DagsterInstance], tmp_path: Path, planned_last: bool
) -> None:
    stock, _ = instances
    run_id = _run(stock).run_id
    # The run's asset events, all in one batch (Dagster's own batches hold one kind): in the
    # run's order (each asset's planned events, then its materializations with metadata), or
    # with the planned events last (they set the asset record's last run, not its last
    # materialization, which must survive them).
    events = _asset_events(stock, run_id)
    if planned_last:
        events.sort(key=lambda entry: entry.get_dagster_event().is_asset_materialization_planned)
    kinds = {entry.dagster_event_type for entry in events if entry.dagster_event_type}
    assert {e.value for e in kinds} == {"ASSET_MATERIALIZATION_PLANNED", "ASSET_MATERIALIZATION"}
    one_by_one = SqliteEventLogStorage(str(tmp_path / "one_by_one"))
    batched = BatchedSqliteEventLogStorage(str(tmp_path / "batched"))
    for event in events:
        one_by_one.store_event(event)
    batched.store_event_batch(events)

    expected = _tables(tmp_path / "one_by_one", run_id)
    stored = _tables(tmp_path / "batched" / "history" / "runs", run_id)
    assert stored == expected
    assert len(expected["index.event_logs"]) == len(events) == 4 * 31
    assert len(expected["index.asset_keys"]) == 2  # rewritten 62 times each one by one
    one_by_one.dispose()
    batched.dispose()


def _kind(entry: dg.EventLogEntry) -> tuple[str, str]:
    event = entry.get_dagster_event()
    return event.event_type_value, event.asset_key.to_user_string() if event.asset_key else ""


def test_last_of_each_kind_keeps_the_last_event_of_every_asset_and_kind_in_order(
    instances: tuple[dg.DagsterInstance, dg.DagsterInstance],
) -> None:
    stock, _ = instances
    run_id = _run(stock).run_id
    events = _asset_events(stock, run_id)
    ids = list(range(100, 100 + len(events)))

    kept = last_of_each_kind(events, ids)

    assert len(kept) == 4  # planned and materialized, for each of the two assets
    assert {_kind(entry) for entry, _ in kept} == {_kind(entry) for entry in events}
    kept_ids = [event_id for _, event_id in kept]
    assert kept_ids == sorted(kept_ids)
    for entry, event_id in kept:
        later = events[ids.index(event_id) + 1 :]
        assert entry is events[ids.index(event_id)]
        assert _kind(entry) not in {_kind(other) for other in later}
