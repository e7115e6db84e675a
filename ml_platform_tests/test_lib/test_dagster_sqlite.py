"""Dagster's SQLite storage commits without an fsync per event; no other SQLite file changes."""

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

import ml_platform  # noqa: F401  (installs the listener, as every process of the platform does)
from ml_platform.lib import dagster_sqlite

FULL, NORMAL = 2, 1


def _database(path: Path, wal: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
        connection.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    return path


def _synchronous(path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        return connection.exec_driver_sql("PRAGMA synchronous").scalar_one()


@pytest.mark.parametrize(
    "relative",
    ["history/runs.db", "history/runs/index.db", "history/runs/0a1b.db", "schedules/schedules.db"],
)
def test_dagsters_wal_files_commit_without_waiting_for_the_disk(
    tmp_path: Path, relative: str
) -> None:
    assert _synchronous(_database(tmp_path / relative, wal=True)) == NORMAL


@pytest.mark.parametrize(
    ("relative", "wal"),
    [
        ("mlflow/mlflow.db", True),  # not Dagster's: keeps the default
        ("history/runs.db.bak", True),
        ("online/online_store.db", True),
        ("history/runs/0a1b.db", False),  # Dagster's, but not in WAL: NORMAL is not safe there
    ],
)
def test_other_files_keep_full_durability(tmp_path: Path, relative: str, wal: bool) -> None:
    assert _synchronous(_database(tmp_path / relative, wal=wal)) == FULL


def test_install_is_idempotent(tmp_path: Path) -> None:
    dagster_sqlite.install()
    dagster_sqlite.install()
    listeners = sa.event.contains(sa.engine.Engine, "connect", dagster_sqlite.relax_commit)
    assert listeners
    assert _synchronous(_database(tmp_path / "history/runs.db", wal=True)) == NORMAL


def test_a_real_instances_own_connections_commit_relaxed(tmp_path: Path) -> None:
    """Through Dagster's own engines (NullPool: a new connection per operation, as for events)."""
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:

        @dg.op
        def chatty(context: dg.OpExecutionContext) -> None:
            for index in range(20):
                context.log.info(f"event {index}")

        @dg.job
        def job() -> None:
            chatty()

        result = job.execute_in_process(instance=instance)
        assert result.success
        files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.db"))
        assert f"history/runs/{result.run_id}.db" in files and "history/runs.db" in files
        events = instance.event_log_storage
        with events.run_connection(result.run_id) as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == NORMAL
        with instance.run_storage.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == NORMAL
        logs = instance.all_logs(result.run_id)
        assert sum("event " in (e.user_message or "") for e in logs) == 20  # nothing lost
