"""Dagster's Alembic migration scripts, read once per process instead of at every new file.

Dagster's SQLite storage checks each database file's schema revision when a process first
opens it and stamps every file it creates (each run's event file, ``history/runs/<id>.db``,
among them). Each check and each stamp asks Alembic for a fresh ``ScriptDirectory``, which
reads and executes every migration script again to build its revision map: ~90 scripts,
~28 ms per map here, two maps per new run file, 17 maps for an instance's first run. The
scripts of an installed Dagster do not change while a process runs, so :func:`install` keeps
one ``ScriptDirectory`` per Dagster Alembic configuration (Dagster itself keeps those
configurations, ``get_alembic_config``, in an ``lru_cache``) and hands it out again. Other
Alembic users (MLflow's tracking store) are not touched. Installed by the code location
(``definitions.py``, before the process opens its instance, whose storages check their files
then) and by the local instance's event log storage (``lib/dagster_event_batches.py``, for
processes that load the instance without the code location: the webserver, the daemon).
"""

from typing import Any
from weakref import WeakKeyDictionary

from alembic.config import Config
from alembic.script import ScriptDirectory

_installed: list[bool] = []


def is_dagster_config(config: Config) -> bool:
    """Whether ``config`` points at Dagster's migration scripts.

    Dagster names them as a package resource (``dagster:_core/storage/alembic``); any other
    location is left to Alembic as it is.
    """
    return (config.get_main_option("script_location") or "").startswith("dagster:")


def install() -> None:
    """Make ``ScriptDirectory.from_config`` reuse one directory per Dagster config (idempotent)."""
    if _installed:
        return
    original = ScriptDirectory.from_config.__func__  # type: ignore[attr-defined]
    loaded: WeakKeyDictionary[Config, ScriptDirectory] = WeakKeyDictionary()

    def from_config(cls: type[ScriptDirectory], config: Config) -> Any:
        if not is_dagster_config(config):
            return original(cls, config)
        if config not in loaded:
            loaded[config] = original(cls, config)
        return loaded[config]

    ScriptDirectory.from_config = classmethod(from_config)  # type: ignore[method-assign,assignment]
    _installed.append(True)
