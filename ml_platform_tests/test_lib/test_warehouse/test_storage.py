"""Never locked out: builds swap a new file in while other processes read the old one."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from ml_platform.lib.training.tracking import file_lock
from ml_platform.lib.warehouse.storage import (
    connect_read_only,
    lock_path,
    staged_database,
    wal_path,
)


def _publish(path: Path, rows: int, **kwargs: float) -> None:
    with staged_database(path, **kwargs) as con:
        con.execute(f"CREATE TABLE t AS SELECT range AS i FROM range({rows})")


def _count(path: Path) -> int:
    con = connect_read_only(path)
    try:
        return con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()


def _analyst(script: str, path: Path) -> subprocess.Popen[str]:
    """Another process: the script gets ``con``, a read-only connection to ``path``."""
    code = f"import duckdb, sys, time\nPATH = {str(path)!r}\n"
    code += "con = duckdb.connect(PATH, read_only=True)\n" + textwrap.dedent(script)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def test_a_build_succeeds_while_another_process_holds_the_warehouse_open(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _publish(path, 10)
    analyst = _analyst(
        """
        print(con.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
        sys.stdin.readline()  # the build happens now
        print(con.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
        con.close()  # reconnect (DuckDB reuses an open database within a process)
        con = duckdb.connect(PATH, read_only=True)
        print(con.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
        """,
        path,
    )
    try:
        assert analyst.stdout is not None and analyst.stdin is not None
        assert analyst.stdout.readline().strip() == "10"
        # What the swap avoids: opening the published file read-write is refused.
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(path))
        _publish(path, 20)
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        out, err = analyst.communicate(timeout=60)
    finally:
        analyst.kill()
    assert analyst.returncode == 0, err
    assert out.split() == ["10", "20"]  # the old snapshot, then the new build on reconnect
    assert _count(path) == 20
    assert _siblings(path) == {"warehouse.duckdb", "warehouse.duckdb.lock"}  # no WAL, no temp


def test_a_long_query_is_not_broken_by_a_build(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _publish(path, 3000)
    analyst = _analyst(
        """
        con.execute("SET threads = 1")
        con.execute("SET enable_progress_bar = false")
        print("started", flush=True)
        total = con.execute(
            "SELECT count(*) FROM t AS a, t AS b, range(40) AS r "
            "WHERE hash(a.i, b.i, r.range) % 1000 = 0"
        ).fetchone()[0]
        print(total > 0, con.execute("SELECT count(*) FROM t").fetchone()[0], time.time())
        """,
        path,
    )
    try:
        assert analyst.stdout is not None
        assert analyst.stdout.readline().strip() == "started"
        time.sleep(0.3)
        _publish(path, 5)
        swapped = time.time()
        out, err = analyst.communicate(timeout=120)
    finally:
        analyst.kill()
    assert analyst.returncode == 0, err
    found, rows, finished = out.split()
    assert found == "True" and rows == "3000"  # the query's own snapshot, to the end
    assert float(finished) > swapped, "the query finished before the swap: make it longer"
    assert _count(path) == 5


def test_a_failed_build_leaves_the_published_warehouse_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _publish(path, 7)
    with pytest.raises(RuntimeError, match="boom"), staged_database(path) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS i")
        raise RuntimeError("boom")
    assert _count(path) == 7
    assert _siblings(path) == {"warehouse.duckdb", "warehouse.duckdb.lock"}


def test_leftovers_of_a_crashed_build_and_a_stale_wal_are_cleared(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _publish(path, 3)
    (tmp_path / ".warehouse.duckdb.999-dead.tmp").write_bytes(b"half a database")
    (tmp_path / ".warehouse.duckdb.999-dead.tmp.wal").write_bytes(b"its log")
    # A WAL of another database next to the file makes DuckDB refuse to open it.
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE x (i INTEGER)")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("INSERT INTO x VALUES (1)")
    con.close()
    wal_path(path).write_bytes(wal_path(other).read_bytes())
    _publish(path, 4)
    assert _count(path) == 4
    assert not wal_path(path).exists()
    assert not list(tmp_path.glob(".warehouse.duckdb.*"))


def test_builders_wait_for_each_other(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with file_lock(lock_path(path)), pytest.raises(TimeoutError):
        _publish(path, 1, timeout=0.3)
    assert not path.exists()
    _publish(path, 1)
    assert _count(path) == 1


def test_there_is_nothing_to_open_before_the_first_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make demo"):
        connect_read_only(tmp_path / "warehouse.duckdb")
