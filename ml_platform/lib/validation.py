"""Running a Pandera model and summarising its failures for people.

Pandera's polars backend runs each check on its own: two ``collect``s per column check (its
result, then whether it passed) and one per non-nullable column, ~130 for a 34-column feature
table, ~70 ms on 1.1M rows where the data work is a few ms. Valid frames are the common case,
so :func:`validate` screens first: Pandera's schema-level checks alone (columns, dtypes,
strictness), then every data check of the model — the very check functions Pandera would call,
the nullability rule it applies — evaluated in one ``collect``. Only a frame that fails the
screen is validated by Pandera in full, which then names every failing column, check and
value exactly as before. A model using what the screen does not evaluate the same way
(element-wise or grouped checks, coercion, defaults, regex columns, uniqueness options) is
always validated in full.
"""

from dataclasses import dataclass
from functools import cache, partial

import pandera.backends.polars.builtin_checks  # noqa: F401  (registers the polars checks)
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.checks import PolarsCheckBackend
from pandera.config import ValidationDepth, config_context
from pandera.constants import CHECK_OUTPUT_KEY


@dataclass(frozen=True)
class ValidationOutcome:
    """Result of validating one frame against one Pandera model."""

    model: str
    rows: int
    failure_cases: pl.DataFrame

    @property
    def passed(self) -> bool:
        """Whether the frame satisfied the model."""
        return self.failure_cases.height == 0

    def summary(self) -> str:
        """One line per failing column and check, with counts and example values."""
        if self.passed:
            return f"{self.model}: {self.rows} rows valid"
        grouped = (
            self.failure_cases.group_by("column", "check", maintain_order=True)
            .agg(pl.len().alias("failures"), pl.col("failure_case").head(3).alias("examples"))
            .iter_rows(named=True)
        )
        lines = [
            f"{row['column']}: {row['check']} failed for {row['failures']} row(s), "
            f"e.g. {', '.join(_short(x) for x in row['examples'])}"
            for row in grouped
        ]
        return f"{self.model}: " + "; ".join(lines)


def validate(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> ValidationOutcome:
    """Validate ``frame`` lazily (all failures at once) against ``model``.

    A frame that passes :func:`screen` is valid; any other is validated by Pandera in full.
    """
    if screen(frame, model) is True:
        return ValidationOutcome(model=model.__name__, rows=frame.height, failure_cases=_NONE)
    try:
        model.validate(frame, lazy=True)
        failures = _NONE
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
    return ValidationOutcome(model=model.__name__, rows=frame.height, failure_cases=failures)


def screen(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> bool | None:
    """Whether ``frame`` passes every check of ``model``, found in one pass over the data.

    Returns:
        ``True`` if it does; ``False`` if some check fails (or cannot run); ``None`` if the
        model uses what the screen does not evaluate as Pandera does (see the module).
    """
    schema = _schema(model)
    if not screenable(schema):
        return None
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    lazy = frame.lazy()
    passes: list[pl.LazyFrame] = []
    nullable = [
        _not_null(name, frame.schema[name]) for name, c in _columns(schema) if not c.nullable
    ]
    if nullable:
        passes.append(lazy.select(pl.all_horizontal(nullable).all()))
    checks = [(name, check) for name, column in _columns(schema) for check in column.checks]
    checks += [("*", check) for check in schema.checks]
    try:
        for key, check in checks:
            output = _backend(check).apply(PolarsData(lazy, key))
            if isinstance(output, bool):
                if not output:
                    return False
                continue
            passed = pl.col(CHECK_OUTPUT_KEY).fill_null(bool(check.ignore_na)).all()
            passes.append(output.select(passed))
        if not passes:
            return True
        found = pl.concat(
            [p.select(pl.first().alias(f"check_{i}")) for i, p in enumerate(passes)],
            how="horizontal",
        ).collect()
    except Exception:  # a check that errors fails the screen: Pandera then reports why
        return False
    return all(found.row(0))


def screenable(schema: pa.DataFrameSchema) -> bool:
    """Whether every check of ``schema`` is one the screen evaluates exactly as Pandera."""
    if schema.unique or schema.coerce or getattr(schema, "drop_invalid_rows", False):
        return False
    if getattr(schema, "add_missing_columns", False):
        return False
    checks = list(schema.checks)
    for _, column in _columns(schema):
        if column.regex or column.unique or column.coerce or column.default is not None:
            return False
        checks += column.checks
    return all(not check.element_wise and check.groupby is None for check in checks)


def _backend(check: pa.Check) -> PolarsCheckBackend:
    """The check's polars backend, with the check function Pandera would call now.

    A built-in check holds the dispatcher of its function as it was when the check was made;
    Pandera's ``Check.__call__`` looks the function up again before each run, because its
    registry can have been rebuilt since (it was, in the test suite: the polars
    implementation was missing from the dispatcher a cached schema still held).
    """
    backend = PolarsCheckBackend(check)
    name = getattr(check._check_fn, "__name__", None)
    if name is not None and check.is_builtin_check(name):
        backend.check_fn = partial(check.get_builtin_check_fn(name), **check._check_kwargs)
    return backend


def _not_null(name: str, dtype: pl.DataType) -> pl.Expr:
    """Pandera's nullability rule: no null, and no NaN in a float column."""
    present = pl.col(name).is_not_null()
    return present & pl.col(name).is_not_nan() if dtype.is_float() else present


def _columns(schema: pa.DataFrameSchema) -> list[tuple[str, pa.Column]]:
    return list(schema.columns.items())


@cache
def _schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    return model.to_schema()


_NONE = pl.DataFrame()


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
