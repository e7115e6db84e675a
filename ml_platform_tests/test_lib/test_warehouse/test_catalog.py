"""The documented catalog: every comment written, and the docs' tables generated from it."""

import re

import pytest

from ml_platform.cli import main
from ml_platform.lib.warehouse.catalog import SCHEMAS, TABLES, catalog_markdown
from ml_platform.settings import PROJECT_ROOT

START, END = "<!-- warehouse-catalog:start -->\n", "<!-- warehouse-catalog:end -->"
# Every document that carries the generated table (README.md too, once it has the markers).
DOCUMENTS = [
    path
    for path in (PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "warehouse.md")
    if START in path.read_text()
]


def test_every_table_and_column_has_a_comment_and_a_known_schema() -> None:
    assert len({t.qualified for t in TABLES}) == len(TABLES)
    for table in TABLES:
        assert table.schema in SCHEMAS and len(table.comment) > 30, table.qualified
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names)), table.qualified
        for column in table.columns:
            assert len(column.comment) > 5, f"{table.qualified}.{column.name}"
            assert re.fullmatch(r"[a-z][a-z0-9_]*", column.name)
            assert column.sql_type  # every type maps to DuckDB


def test_the_docs_table_is_the_generated_one() -> None:
    assert PROJECT_ROOT / "docs" / "warehouse.md" in DOCUMENTS


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_documented_catalog_matches_the_code(document) -> None:
    text = document.read_text()
    block = text[text.index(START) + len(START) : text.index(END)]
    assert block == catalog_markdown(), (
        f"{document.name} is stale: paste `ml-platform warehouse --catalog` between the markers"
    )


def test_the_cli_prints_the_catalog(capsys: pytest.CaptureFixture) -> None:
    assert main(["warehouse", "--catalog"]) == 0
    out = capsys.readouterr().out
    assert out == catalog_markdown()
    assert "| **`analytics.daily_kpis`** |" in out and "`alert_precision`" in out
