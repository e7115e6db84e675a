"""Delta predicates built only from validated values.

delta-rs takes a predicate as SQL text with no parameter binding, so a value pasted into it
can rewrite the whole table (``dt = 'x' OR '1'='1'``). Every predicate in the project is built
here, from typed values (dates, integers) or identifiers checked against an allowlist.
"""

import datetime as dt
import re
from collections.abc import Iterable

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.:-]+$")


def column(name: str) -> str:
    """Return ``name`` if it is a plain lower-case identifier, else raise ``ValueError``."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a safe column name for a Delta predicate: {name!r}")
    return name


def date_literal(value: dt.date) -> str:
    """Quote a date (``datetime`` values are rejected: they would silently truncate)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"expected a datetime.date, got {value!r}")
    return f"'{value.isoformat()}'"


def date_range(name: str, start: dt.date, end: dt.date) -> str:
    """Rows whose date column lies in ``[start, end)``."""
    low, high = date_literal(start), date_literal(end)  # typed dates first: a clear error
    if end <= start:
        raise ValueError(f"empty date range [{start}, {end})")
    return f"{column(name)} >= {low} AND {column(name)} < {high}"


def int_in(name: str, values: Iterable[int]) -> str:
    """Rows whose integer column is one of ``values`` (each checked to be an ``int``)."""
    items = sorted({int(v) for v in values if _is_int(v)})
    if not items:
        raise ValueError(f"no values for {name} IN (...)")
    return f"{column(name)} IN ({', '.join(str(v) for v in items)})"


def text_equals(name: str, value: str) -> str:
    """Rows whose text column equals ``value``; only plain identifiers-like text is accepted."""
    if not _SAFE_TEXT.fullmatch(value):
        raise ValueError(f"unsafe text value for a Delta predicate: {value!r}")
    return f"{column(name)} = '{value}'"


def all_of(*predicates: str) -> str:
    """Combine predicates with AND."""
    return " AND ".join(f"({p})" for p in predicates)


def _is_int(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an int, got {value!r}")
    return True


def date_in(name: str, values: Iterable[dt.date]) -> str:
    """Rows whose date column is one of ``values``."""
    items = sorted({date_literal(v) for v in values})
    if not items:
        raise ValueError(f"no values for {name} IN (...)")
    return f"{column(name)} IN ({', '.join(items)})"
