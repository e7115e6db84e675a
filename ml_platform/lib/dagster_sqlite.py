"""Dagster's local SQLite storage without an fsync per event: WAL with ``synchronous=NORMAL``.

Dagster's default instance keeps runs, events and schedules in SQLite files under
``$DAGSTER_HOME`` (``history/runs.db``, ``history/runs/<run id>.db``, ``history/runs/index.db``,
``schedules/schedules.db``), already in WAL mode, but at SQLite's default ``synchronous=FULL``:
every event is its own transaction on a fresh connection, and every commit waits for an
``fsync`` of the WAL, ~3 ms each on this machine. A partitioned run writes thousands of events
(``make demo``: ~3,000 commits; a 300-event step 4.4 s → 1.0 s without the waits).

In WAL mode SQLite documents ``synchronous=NORMAL`` as always consistent: a crash of the process
loses nothing, and a power cut or OS crash can lose the last commits but never corrupts the
file. That is the trade-off this module takes for the instance's own files only — found by
their Dagster layout *and* WAL mode, on every new SQLAlchemy connection of the process. Other
SQLite files (the MLflow store, the online store) keep their settings. Production instances
run on PostgreSQL (``deploy/``), which this does not touch.

The package's ``__init__`` installs it, so it applies in every process that imports the code
location and writes events: ``ml-platform`` commands, run and step workers, the code server.
The webserver and the daemon do not import it (their own writes are few: ticks, run status).
"""

import re
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_SEP = r"[/\\]"
DAGSTER_FILES = re.compile(
    rf"{_SEP}(history{_SEP}runs\.db|history{_SEP}runs{_SEP}[^/\\]+\.db|schedules{_SEP}schedules\.db)$"
)
_installed: list[bool] = []


def install() -> None:
    """Relax the commit of Dagster's WAL-mode SQLite files on every new connection (idempotent)."""
    if not _installed:
        event.listen(Engine, "connect", relax_commit)
        _installed.append(True)


def relax_commit(dbapi_connection: Any, _record: Any = None) -> None:
    """``PRAGMA synchronous=NORMAL`` if the connection is to a Dagster storage file in WAL mode."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = dbapi_connection.execute("PRAGMA database_list").fetchall()
    main = next((path for _, name, path in files if name == "main"), "")
    if not main or not DAGSTER_FILES.search(main):
        return
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
