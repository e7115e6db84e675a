"""The SQL prompt: multi-line statements, errors that do not end the session, -c, helpers."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_platform.lib.warehouse.prompt import Prompt, format_table, main, repl, statement_complete
from ml_platform.lib.warehouse.storage import staged_database


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with staged_database(path) as con:
        con.execute("CREATE SCHEMA lake")
        con.execute("CREATE TABLE lake.t AS SELECT range AS i, 'x' || range AS s FROM range(5)")
        con.execute("COMMENT ON TABLE lake.t IS 'five rows'")
        con.execute("COMMENT ON COLUMN lake.t.i IS 'a number'")
    return path


def _session(path: Path, lines: list[str], max_rows: int = 40) -> str:
    out = io.StringIO()
    prompt = Prompt(path, out, max_rows=max_rows)
    feed: Iterator[str] = iter(lines)

    def read(_: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    assert repl(prompt, read) == 0
    prompt.close()
    return out.getvalue()


@pytest.mark.parametrize(
    ("buffer", "complete"),
    [
        ("SELECT 1;", True),
        ("SELECT 1", False),
        ("SELECT 1;  \n", True),
        ("SELECT ';'", False),
        ("SELECT 'a;b';", True),
        ('SELECT 1 AS "x;"', False),
        ("SELECT 1 -- done;", False),
        ("SELECT 1; -- trailing comment", True),
        ("SELECT /* ; */ 1", False),
        ("SELECT 'it''s';", True),
    ],
)
def test_a_statement_ends_with_a_semicolon_outside_quotes_and_comments(
    buffer: str, complete: bool
) -> None:
    assert statement_complete(buffer) is complete


def test_multi_line_statements_errors_and_more_statements(warehouse: Path) -> None:
    out = _session(
        warehouse,
        [
            "SELECT i, s",
            "FROM lake.t",
            "WHERE i < 2;",
            "SELECT nope;",
            "SELECT count(*) AS n FROM lake.t;",
        ],
    )
    assert "| i | s  |" in out and "| 1 | x1 |" in out and "(2 rows)" in out
    assert "Error: Binder Error" in out  # printed, and the session went on
    assert "| 5 |" in out and out.count("(1 row)") == 1


def test_results_are_cut_at_the_row_limit(warehouse: Path) -> None:
    out = _session(warehouse, ["SELECT * FROM lake.t;"], max_rows=2)
    assert "(2 of 5 rows shown)" in out and "| 2 |" not in out


def test_helpers_list_tables_and_columns_with_comments(warehouse: Path) -> None:
    out = _session(warehouse, [".tables", ".schema lake.t", ".nope", ".quit", "SELECT 1;"])
    assert "lake.t" in out and "five rows" in out
    assert "a number" in out and "BIGINT" in out
    assert "unknown command .nope" in out
    assert "| 1 |" not in out  # .quit stopped before it


def test_the_connection_is_read_only(warehouse: Path) -> None:
    out = _session(warehouse, ["CREATE TABLE lake.u (i INTEGER);"])
    assert "read-only" in out.lower() and "Error" in out


def test_a_new_build_is_announced_and_reload_shows_it(warehouse: Path) -> None:
    out = io.StringIO()
    prompt = Prompt(warehouse, out)
    with staged_database(warehouse) as con:
        con.execute("CREATE SCHEMA lake")
        con.execute("CREATE TABLE lake.t AS SELECT range AS i FROM range(9)")
    prompt.run("SELECT count(*) AS n FROM lake.t;")
    assert ".reload" in out.getvalue() and "| 5 |" in out.getvalue()  # still the old snapshot
    prompt.run(".reload")
    prompt.run("SELECT count(*) AS n FROM lake.t;")
    prompt.close()
    assert "| 9 |" in out.getvalue()


def test_one_shot_returns_the_outcome(warehouse: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(warehouse, "SELECT 1 AS a; SELECT 2 AS b;", out) == 0
    assert "| a |" in out.getvalue() and "| b |" in out.getvalue()
    assert main(warehouse, "SELECT nope;", io.StringIO()) == 1
    missing = io.StringIO()
    assert main(tmp_path / "none.duckdb", "SELECT 1;", missing) == 1
    assert "no warehouse" in missing.getvalue()


def test_tables_align_numbers_right_and_show_nulls() -> None:
    text = format_table(["name", "n"], [("a", 1), ("bb", None), ("c", 2.5)])
    assert "| a    |    1 |" in text and "| bb   | NULL |" in text and "| c    |  2.5 |" in text
