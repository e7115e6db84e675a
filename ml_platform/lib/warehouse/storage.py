"""The warehouse file: built beside the old one, swapped in atomically, never locked.

DuckDB lets one process write a file or many processes read it, not both: an analyst's
read-only connection makes a writer's read-write open of the same file fail ("Conflicting
lock is held"). So nothing ever opens the published file for writing. A build writes a new
database at a temporary path in the same folder, checkpoints and closes it (no WAL left),
and ``os.replace``-s it over the published path:

- an analyst connected to the old file keeps reading it: their open file descriptor still
  points at the old inode, which the kernel keeps until they close it, so a long query
  finishes on the data it started with;
- a new connection (or a reconnect, ``.reload`` in ``ml-platform sql``) opens the new file;
- the replace is atomic: a reader opens either the old file or the new one, never a part.

Builders on one host are serialized by an advisory file lock beside the warehouse (two runs
building at once would waste work, and the second replace would win anyway), and Dagster
runs them in a pool of one (``duckdb_warehouse``). Within one process, DuckDB reuses an open
database for a new connection to the same path, so a reader must close every connection
before reconnecting to see a new build.
"""

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ml_platform.lib.locking import file_lock

LOCK_TIMEOUT_SECONDS = 1800.0


def lock_path(path: Path) -> Path:
    """The advisory lock that serializes builders of the warehouse at ``path``."""
    return path.with_name(path.name + ".lock")


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of the database at ``path``."""
    return path.with_name(path.name + ".wal")


@contextlib.contextmanager
def staged_database(
    path: Path, timeout: float = LOCK_TIMEOUT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a new database that replaces ``path`` when the block ends.

    On success the new database is checkpointed, closed, synced and moved over ``path`` in
    one atomic rename; if the block raises, it is deleted and ``path`` is left as it was.
    Held under the builders' lock the whole time; leftovers of a crashed build are removed
    first.

    Args:
        path: The published warehouse file.
        timeout: Seconds to wait for another build to finish.

    Raises:
        TimeoutError: If another build holds the lock longer than ``timeout``.
        RuntimeError: If DuckDB left a WAL behind after closing the new database.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(lock_path(path), timeout=timeout):
        _remove_leftovers(path)
        staging = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        connection = duckdb.connect(str(staging))
        try:
            try:
                yield connection
                connection.execute("CHECKPOINT")
            finally:
                connection.close()
            if wal_path(staging).exists():
                raise RuntimeError(f"DuckDB left a WAL beside {staging} after closing it")
            _fsync(staging)
            # A WAL beside the published file can only belong to the file being replaced
            # (someone opened it read-write); DuckDB refuses to open a database whose WAL does
            # not match ("WAL does not match database file"), so it goes first.
            wal_path(path).unlink(missing_ok=True)
            os.replace(staging, path)
            _fsync(path.parent)
        finally:
            _remove(staging)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """An analyst's connection: read-only, so it never blocks a build.

    Raises:
        FileNotFoundError: If no warehouse was built at ``path`` yet.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"no warehouse at {path}: build it first (make demo)")
    return duckdb.connect(str(path), read_only=True)


def _remove_leftovers(path: Path) -> None:
    """Delete staging files of builds that died (only builders create them; we hold the lock)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _remove(staging: Path) -> None:
    """Delete a staging database, its WAL and DuckDB's spill folder (``<db>.tmp``) if any."""
    for candidate in (staging, wal_path(staging)):
        candidate.unlink(missing_ok=True)
    shutil.rmtree(staging.with_name(staging.name + ".tmp"), ignore_errors=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
