"""``ml-platform sql``: a small read-only SQL prompt on the warehouse.

The ``duckdb`` Python package ships no ``duckdb`` command-line binary, so this is the
analysts' prompt: statements end with ``;`` and may span lines, results print as tables,
an error is printed and the prompt carries on, ``-c "SQL"`` runs statements and exits.
Dot commands: ``.tables``, ``.schema [table]``, ``.reload`` (reconnect to see a newer build),
``.help``, ``.quit``. The connection is read-only, so it never blocks a pipeline run; when a
run publishes a new build, the prompt says so and ``.reload`` switches to it.
"""

import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import duckdb

from ml_platform.lib.warehouse.storage import connect_read_only

MAX_ROWS = 40
MAX_WIDTH = 48
HELP = """\
Statements end with ';' and may span lines. Read-only: the warehouse is rebuilt by the
pipeline (Dagster `warehouse_job`), never edited here. Try docs/queries/*.sql.
  .tables            tables with their comments
  .schema [table]    columns, types and comments (of one table or of all)
  .reload            reconnect: see the newest build
  .help              this text
  .quit              leave (or Ctrl-D)
"""


class Prompt:
    """A read-only session on the warehouse at ``path``, writing to ``out``."""

    def __init__(self, path: Path, out: TextIO, max_rows: int = MAX_ROWS) -> None:
        """Connect read-only to the warehouse at ``path``."""
        self.path = Path(path)
        self.out = out
        self.max_rows = max_rows
        self.errors = 0
        self.connection = connect_read_only(self.path)
        self._inode = _inode(self.path)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def reload(self) -> None:
        """Reconnect, to see the newest build (DuckDB reuses an open database otherwise)."""
        self.connection.close()
        self.connection = connect_read_only(self.path)
        self._inode = _inode(self.path)
        self.out.write(f"reconnected to {self.path}\n")

    def run(self, text: str) -> bool:
        """Run one or more complete statements (or a dot command); report errors, never raise.

        Returns:
            ``False`` when the user asked to quit.
        """
        stripped = text.strip()
        if stripped.startswith("."):
            return self._command(stripped)
        if self._inode != _inode(self.path):
            self.out.write("(a newer warehouse build was published: .reload to see it)\n")
        try:
            statements = self.connection.extract_statements(stripped)
            for statement in statements:
                cursor = self.connection.execute(statement.query)
                if cursor.description:
                    self._print(cursor)
        except duckdb.Error as error:
            self.errors += 1
            self.out.write(f"Error: {error}\n")
        except KeyboardInterrupt:
            self.connection.interrupt()
            self.out.write("interrupted\n")
        return True

    def _command(self, line: str) -> bool:
        command, _, argument = line.partition(" ")
        argument = argument.strip().rstrip(";")
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".help":
            self.out.write(HELP)
        elif command == ".reload":
            self.reload()
        elif command == ".tables":
            self.run(
                "SELECT schema_name || '.' || table_name AS \"table\", estimated_size AS rows, "
                "comment FROM duckdb_tables() ORDER BY 1;"
            )
        elif command == ".schema":
            where = ""
            if argument:
                schema, _, table = argument.rpartition(".")
                where = f"WHERE table_name = {_quote(table)}"
                where += f" AND schema_name = {_quote(schema)}" if schema else ""
            self.run(
                'SELECT schema_name || \'.\' || table_name AS "table", column_name AS "column", '
                f"data_type AS type, comment FROM duckdb_columns() {where} "
                "ORDER BY schema_name, table_name, column_index;"
            )
        else:
            self.errors += 1
            self.out.write(f"unknown command {command} (try .help)\n")
        return True

    def _print(self, cursor: duckdb.DuckDBPyConnection) -> None:
        names = [column[0] for column in cursor.description or []]
        rows = cursor.fetchmany(self.max_rows + 1)
        more = len(rows) > self.max_rows
        self.out.write(format_table(names, rows[: self.max_rows]))
        if more:
            rest = len(cursor.fetchall())
            self.out.write(f"({self.max_rows} of {self.max_rows + 1 + rest} rows shown)\n")
        else:
            self.out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


def format_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as an aligned text table (numbers right-aligned, long values cut)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(names)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(names))
    ]

    def line(values: Sequence[str], align: Sequence[bool]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, align, strict=True)
        ]
        return "| " + " | ".join(parts) + " |\n"

    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"
    body = "".join(line(row, numeric) for row in cells)
    return rule + line(names, [False] * len(names)) + rule + body + rule


def statement_complete(buffer: str) -> bool:
    """Whether ``buffer`` ends with a ``;`` outside quotes and comments."""
    state, last, i = "code", "", 0
    while i < len(buffer):
        char, pair = buffer[i], buffer[i : i + 2]
        if state == "code":
            if char in "'\"":
                state = char
            elif pair == "--":
                state = "line"
            elif pair == "/*":
                state, i = "block", i + 1
            elif not char.isspace():
                last = char
        elif state == "line" and char == "\n":
            state = "code"
        elif state == "block" and pair == "*/":
            state, i = "code", i + 1
        elif state in "'\"" and char == state:
            state = "code"
        i += 1
    return state in ("code", "line") and last == ";"


def repl(prompt: Prompt, read: Callable[[str], str]) -> int:
    """Read statements until ``.quit`` or end of input; ``read`` is ``input``-like.

    Returns:
        0.
    """
    prompt.out.write(f"warehouse {prompt.path} (read-only). .help for help, .quit to leave.\n")
    buffer = ""
    while True:
        try:
            line = read("sql> " if not buffer else "...> ")
        except EOFError:
            prompt.out.write("\n")
            return 0
        except KeyboardInterrupt:
            prompt.out.write("\n")
            buffer = ""
            continue
        if not buffer and line.strip().startswith("."):
            if not prompt.run(line):
                return 0
            continue
        buffer += line + "\n"
        if statement_complete(buffer):
            text, buffer = buffer, ""
            prompt.run(text)


def main(path: Path, command: str | None, out: TextIO) -> int:
    """Open the prompt (or run ``command`` and exit); 1 if there is no warehouse or it failed."""
    try:
        prompt = Prompt(path, out)
    except (FileNotFoundError, duckdb.Error) as error:
        out.write(f"ml-platform sql: {error}\n")
        return 1
    try:
        if command is not None:
            return _one_shot(prompt, command)
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:  # pragma: no cover (not on every platform)
            pass
        # Piped input (``ml-platform sql < file.sql``) gets no prompts in its output.
        return repl(prompt, input if sys.stdin.isatty() else lambda _: input())
    finally:
        prompt.close()


def _one_shot(prompt: Prompt, command: str) -> int:
    """Run ``-c`` text: SQL statements, or one dot command per line; 1 if any failed."""
    lines = command.strip().splitlines()
    if lines and all(line.strip().startswith(".") for line in lines):
        for line in lines:
            prompt.run(line)
    else:
        prompt.run(command)
    return 1 if prompt.errors else 0


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None
