"""Running a Pandera model and summarising its failures for people."""

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl


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
    """Validate ``frame`` lazily (all failures at once) against ``model``."""
    try:
        model.validate(frame, lazy=True)
        failures = pl.DataFrame()
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
    return ValidationOutcome(model=model.__name__, rows=frame.height, failure_cases=failures)


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
