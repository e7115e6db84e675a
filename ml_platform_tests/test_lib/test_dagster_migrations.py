"""Dagster's migration scripts are read once per process; new files still get the head revision."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.sql import get_alembic_config

from ml_platform.lib import dagster_migrations
from ml_platform.lib.dagster_event_batches import BatchedSqliteEventLogStorage


def test_dagsters_script_directory_is_loaded_once(tmp_path: Path) -> None:
    dagster_migrations.install()
    config = get_alembic_config(sqlite_event_log.__file__)
    assert dagster_migrations.is_dagster_config(config)
    assert ScriptDirectory.from_config(config) is ScriptDirectory.from_config(config)


def test_other_alembic_users_get_a_fresh_script_directory(tmp_path: Path) -> None:
    dagster_migrations.install()
    command.init(Config(str(tmp_path / "alembic.ini")), str(tmp_path / "scripts"))  # e.g. MLflow
    other = Config()
    other.set_main_option("script_location", str(tmp_path / "scripts"))
    assert not dagster_migrations.is_dagster_config(other)
    assert ScriptDirectory.from_config(other) is not ScriptDirectory.from_config(other)


def test_each_new_run_file_is_stamped_with_dagsters_head_revision(tmp_path: Path) -> None:
    storage = BatchedSqliteEventLogStorage(str(tmp_path))
    head = ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))
    for run_id in ("run-a", "run-b"):
        with storage.run_connection(run_id):
            pass
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'history' / 'runs' / f'{run_id}.db'}")
        with engine.connect() as conn:
            stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        assert stamped == head.get_current_head()
