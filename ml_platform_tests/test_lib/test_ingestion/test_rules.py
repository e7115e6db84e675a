"""Staged rules (each column's text and value computed once) read exactly as the rules do."""

import datetime as dt

import polars as pl
import pytest

from ml_platform.lib.ingestion.rules import Rule, canonical_timestamp, column_rule, staged_rules
from ml_platform.lib.ingestion.sources import CHARGEBACKS, CUSTOMERS, TRANSACTIONS, Kind, Source

# Text as a CSV gives it: valid, padded, empty, missing, malformed and out-of-range values.
TEXTS: dict[Kind, list[str | None]] = {
    Kind.TEXT: ["t-1", "  t-2 ", "", None, "   ", "x"],
    Kind.INT: ["1", " 42 ", "", None, "4.5", "abc"],
    Kind.POSITIVE_FLOAT: ["12.50", " 3 ", "0", "-5", "inf", "nan"],
    Kind.NON_NEGATIVE_FLOAT: ["0", "1e3", "-0.01", "", None, "ten"],
    Kind.UTC_TIMESTAMP: [
        "2026-01-02T03:04:05Z",
        "2026-01-02 03:04:05+0100",
        "2026-01-02T03:04:05.25-05:30",
        "2026-01-02T03:04:05",
        "yesterday",
        None,
    ],
    Kind.DATE: ["2026-01-02", " 2025-12-31 ", "2026-13-01", "", None, "02/01/2026"],
    Kind.ENUM: ["online", " pos ", "ATM", "", None, "phone"],
    Kind.COUNTRY: ["US", " DE ", "us", "USA", "", None],
}
UTC = pl.Datetime("us", "UTC")


def _text_frame(source: Source) -> pl.DataFrame:
    return pl.DataFrame(
        {column.name: TEXTS[column.kind] for column in source.columns},
        schema={column.name: pl.String for column in source.columns},
    )


def _direct(frame: pl.DataFrame, source: Source, first_pass: bool) -> pl.DataFrame:
    """Every column's value, failure and message, each rule evaluated as written."""
    exprs = []
    for column in source.columns:
        dtype = frame.schema[column.name]
        if first_pass and column.kind is Kind.UTC_TIMESTAMP and dtype == pl.String:
            rule = canonical_timestamp(column.name)
        else:
            rule = column_rule(column, dtype)
        exprs += _outputs(rule)
    return frame.select(exprs)


def _staged(frame: pl.DataFrame, source: Source, first_pass: bool) -> pl.DataFrame:
    staged, rules = staged_rules(
        frame.lazy(), frame.schema, source, canonical_timestamps=first_pass
    )
    return staged.select([e for rule in rules for e in _outputs(rule)]).collect()


def _outputs(rule: Rule) -> list[pl.Expr]:
    return [
        rule.value.alias(f"{rule.name}.value"),
        rule.failed().alias(f"{rule.name}.failed"),
        rule.error().alias(f"{rule.name}.error"),
    ]


@pytest.mark.parametrize("first_pass", [False, True])
@pytest.mark.parametrize("source", [TRANSACTIONS, CHARGEBACKS, CUSTOMERS], ids=lambda s: s.name)
def test_staged_rules_read_text_columns_as_the_rules_do(source: Source, first_pass: bool) -> None:
    frame = _text_frame(source)
    staged = _staged(frame, source, first_pass)
    assert staged.equals(_direct(frame, source, first_pass))
    failed = staged.select(pl.col("^.*\\.failed$")).to_numpy()
    assert failed.any() and not failed.all()  # the sample holds valid and invalid values


def test_staged_rules_read_typed_parquet_columns_as_the_rules_do() -> None:
    instant = dt.datetime(2026, 1, 2, 3, 4, 5)
    frames = [
        pl.DataFrame(
            {"transaction_id": ["c-1", None, ""], "reported_at": [instant, None, instant]},
            schema={"transaction_id": pl.String, "reported_at": pl.Datetime("us", zone)},
        )
        for zone in ("UTC", "Europe/Berlin", None)
    ]
    frames.append(
        pl.DataFrame(
            {"transaction_id": ["c-1", "c-2", "c-3"], "reported_at": [1, None, 3]},
            schema={"transaction_id": pl.String, "reported_at": pl.Int64},
        )
    )
    for frame in frames:
        assert _staged(frame, CHARGEBACKS, False).equals(_direct(frame, CHARGEBACKS, False))
    customers = pl.DataFrame(
        {
            "customer_id": [1, None, 3],
            "signup_date": [dt.date(2026, 1, 1), None, dt.date(2025, 1, 1)],
            "home_country": ["US", "de", None],
            "credit_limit": [1000.0, -1.0, float("inf")],
        }
    )
    staged = _staged(customers, CUSTOMERS, False)
    assert staged.equals(_direct(customers, CUSTOMERS, False))
    assert staged.get_column("credit_limit.error").drop_nulls().len() == 2
    assert _staged(frames[0], CHARGEBACKS, False).get_column("reported_at.value").dtype == UTC
