import datetime as dt

import polars as pl

from ml_platform.lib.staging import schemas, transforms
from ml_platform.lib.validation import validate

UTC = dt.UTC


def _bronze_tx(rows: list[tuple[str, float, str, int, int]]) -> pl.LazyFrame:
    """rows: (transaction_id, amount, source_file, source_row, landed minute)."""
    return pl.LazyFrame(
        {
            "transaction_id": [r[0] for r in rows],
            "customer_id": [1] * len(rows),
            "merchant_id": [7] * len(rows),
            "amount": [r[1] for r in rows],
            "merchant_category": ["grocery"] * len(rows),
            "channel": ["pos"] * len(rows),
            "country": ["US"] * len(rows),
            "event_timestamp": [dt.datetime(2026, 1, 2, 10, tzinfo=UTC)] * len(rows),
            "event_date": [dt.date(2026, 1, 2)] * len(rows),
            "source_file": [r[2] for r in rows],
            "source_file_id": [hash(r[2]) % 1000 for r in rows],
            "source_row": [r[3] for r in rows],
            "landed_at": [dt.datetime(2026, 1, 3, 0, r[4], tzinfo=UTC) for r in rows],
            "ingested_at": [dt.datetime(2026, 1, 3, 1, tzinfo=UTC)] * len(rows),
            "batch_id": ["b"] * len(rows),
        },
        schema_overrides={
            "event_timestamp": pl.Datetime("us", "UTC"),
            "landed_at": pl.Datetime("us", "UTC"),
            "ingested_at": pl.Datetime("us", "UTC"),
        },
    )


def test_the_latest_landed_version_of_a_transaction_wins() -> None:
    bronze = _bronze_tx(
        [
            ("a", 1.0, "tx/day1.csv", 1, 0),
            ("a", 2.0, "tx/day1_correction.csv", 1, 5),  # landed later: wins
            ("b", 3.0, "tx/day1.csv", 2, 0),
            ("b", 4.0, "tx/day1.csv", 3, 0),  # same file, later row: wins
        ]
    )
    silver = transforms.silver_transactions(bronze).collect()
    assert silver.select("transaction_id", "amount").sort("transaction_id").rows() == [
        ("a", 2.0),
        ("b", 4.0),
    ]
    assert validate(silver, schemas.SilverTransactions).passed


def test_silver_schema_failures_name_column_and_check() -> None:
    silver = transforms.silver_transactions(_bronze_tx([("a", 1.0, "f", 1, 0)])).collect()
    broken = pl.concat([silver, silver.with_columns(pl.lit(-5.0).alias("amount"))])
    outcome = validate(broken, schemas.SilverTransactions)
    assert not outcome.passed
    summary = outcome.summary()
    assert "transaction_id: field_uniqueness" in summary
    assert "amount: greater_than(0)" in summary and "-5.0" in summary


def test_labels_keep_the_first_report_per_transaction() -> None:
    chargebacks = pl.LazyFrame(
        {
            "transaction_id": ["a", "a", "b"],
            "reported_at": [
                dt.datetime(2026, 1, 9, tzinfo=UTC),
                dt.datetime(2026, 1, 5, tzinfo=UTC),
                dt.datetime(2026, 1, 7, tzinfo=UTC),
            ],
        },
        schema_overrides={"reported_at": pl.Datetime("us", "UTC")},
    )
    transactions = pl.LazyFrame(
        {
            "transaction_id": ["a"],
            "customer_id": [11],
            "merchant_id": [22],
            "event_timestamp": [dt.datetime(2026, 1, 1, tzinfo=UTC)],
        },
        schema=transforms.TRANSACTION_CONTEXT_SCHEMA,
    )
    labels = transforms.silver_labels(chargebacks, transactions).collect()
    assert labels.rows() == [
        (
            "a",
            True,
            dt.datetime(2026, 1, 5, tzinfo=UTC),
            2,
            11,
            22,
            dt.datetime(2026, 1, 1, tzinfo=UTC),
        ),
        ("b", True, dt.datetime(2026, 1, 7, tzinfo=UTC), 1, None, None, None),
    ]
    assert validate(labels, schemas.SilverLabels).passed


def test_customers_keep_the_latest_version() -> None:
    bronze = pl.LazyFrame(
        {
            "customer_id": [1, 1, 2],
            "signup_date": [dt.date(2020, 1, 1)] * 3,
            "home_country": ["US", "GB", "DE"],
            "credit_limit": [1000.0, 2000.0, 500.0],
            "source_file": ["c/d1.csv", "c/d5.csv", "c/d1.csv"],
            "source_row": [1, 1, 2],
            "landed_at": [
                dt.datetime(2026, 1, 1, tzinfo=UTC),
                dt.datetime(2026, 1, 5, tzinfo=UTC),
                dt.datetime(2026, 1, 1, tzinfo=UTC),
            ],
        },
        schema_overrides={"landed_at": pl.Datetime("us", "UTC")},
    )
    customers = transforms.silver_customers(bronze).collect()
    assert customers.select("customer_id", "home_country", "credit_limit", "versions").rows() == [
        (1, "GB", 2000.0, 2),
        (2, "DE", 500.0, 1),
    ]
    assert validate(customers, schemas.SilverCustomers).passed
