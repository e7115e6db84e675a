"""Equivalence checks: a baseline only counts if it computes the project's values."""

from collections.abc import Sequence

import polars as pl

# Features are rounded to 6 decimals; DuckDB rounds half away from zero, Polars half to even,
# so a value may differ by one unit in the 6th decimal.
FLOAT_TOLERANCE = 1.5e-6


class NotEquivalent(AssertionError):
    """A baseline's values differ from the project's."""


def mismatches(
    ours: pl.DataFrame,
    theirs: pl.DataFrame,
    keys: Sequence[str],
    columns: Sequence[str] | None = None,
    tolerance: float = FLOAT_TOLERANCE,
) -> dict[str, int]:
    """Rows per column whose values differ (null vs value counts; floats within tolerance).

    Rows are matched on ``keys``; a row present on one side only counts as a mismatch of
    every column (reported under ``__rows__``).
    """
    columns = [c for c in (columns or ours.columns) if c not in keys]
    theirs = theirs.select(*keys, *columns).cast({c: ours.schema[c] for c in columns})
    joined = ours.select(*keys, *columns).join(
        theirs, on=list(keys), how="full", suffix="__b", coalesce=True
    )
    counts = {"__rows__": abs(ours.height - joined.height) + abs(theirs.height - joined.height)}
    for name in columns:
        a, b = pl.col(name), pl.col(f"{name}__b")
        if ours.schema[name].is_float():
            same_value = (a - b).abs() <= tolerance
        else:
            same_value = a == b
        same = (a.is_null() & b.is_null()) | (a.is_not_null() & b.is_not_null() & same_value)
        counts[name] = int(joined.select((~same.fill_null(False)).sum()).item())
    return {k: v for k, v in counts.items() if v}


def assert_equivalent(
    what: str,
    ours: pl.DataFrame,
    theirs: pl.DataFrame,
    keys: Sequence[str],
    columns: Sequence[str] | None = None,
) -> dict[str, int]:
    """Raise ``NotEquivalent`` unless ``columns`` match; return the row count compared."""
    found = mismatches(ours, theirs, keys, columns)
    if found:
        raise NotEquivalent(f"{what}: values differ from the project's: {found}")
    return {"rows_compared": ours.height, "columns_compared": len(columns or ours.columns)}
