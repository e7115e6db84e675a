import datetime as dt
import math

import polars as pl
import pytest

from ml_platform.lib.features.customer import customer_daily_features, input_range
from ml_platform.lib.features.schemas import CustomerDaily
from ml_platform.lib.validation import validate

UTC = dt.UTC
D = dt.date(2026, 2, 10)


def _tx(rows: list[tuple]) -> pl.LazyFrame:
    """rows: (customer, merchant, category, amount, country, timestamp)."""
    return pl.LazyFrame(
        {
            "transaction_id": [f"t{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "merchant_id": [r[1] for r in rows],
            "merchant_category": [r[2] for r in rows],
            "amount": [r[3] for r in rows],
            "country": [r[4] for r in rows],
            "event_timestamp": [r[5] for r in rows],
            "event_date": [r[5].date() for r in rows],
        },
        schema_overrides={"event_timestamp": pl.Datetime("us", "UTC")},
    )


def _customers(rows: list[tuple[int, dt.date, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "customer_id": [r[0] for r in rows],
            "signup_date": [r[1] for r in rows],
            "home_country": [r[2] for r in rows],
        }
    )


def _labels(rows: list[tuple[int, dt.datetime]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {"customer_id": [r[0] for r in rows], "reported_at": [r[1] for r in rows]},
        schema_overrides={"reported_at": pl.Datetime("us", "UTC")},
    )


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _ago(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


TX = _tx(
    [
        (1, 10, "grocery", 99.0, "US", _at(_ago(40), 12)),  # outside every window
        (1, 10, "grocery", 10.0, "US", _at(_ago(10), 12)),
        (1, 11, "travel", 30.0, "FR", _at(_ago(3), 2)),  # night, foreign
        (1, 12, "grocery", 20.0, "US", _at(D, 9)),
        (1, 10, "grocery", 40.0, "US", _at(D, 18)),
        (2, 10, "grocery", 5.0, "US", _at(_ago(20), 12)),
    ]
)
CUSTOMERS = _customers(
    [
        (1, dt.date(2025, 1, 1), "US"),
        (2, dt.date(2025, 6, 1), "US"),
        (3, dt.date(2026, 2, 1), "GB"),
        (4, dt.date(2026, 3, 1), "US"),
    ]
)
LABELS = _labels(
    [
        (1, _at(_ago(5), 8)),
        (1, _at(D, 23, 59)),  # before the end of D: counts
        (1, _at(D + dt.timedelta(days=1), 0)),  # at the snapshot time: does not count
        (2, _at(_ago(1), 8)),
    ]
)


def _row(frame: pl.DataFrame, customer: int) -> dict:
    [row] = frame.filter(pl.col("customer_id") == customer).to_dicts()
    return row


def test_window_features_for_one_customer() -> None:
    frame = customer_daily_features(TX, CUSTOMERS, LABELS, D, D)
    row = _row(frame, 1)
    assert row["event_timestamp"] == dt.datetime(2026, 2, 11, tzinfo=UTC)
    assert row["feature_date"] == D
    assert (row["tx_count_1d"], row["tx_count_7d"], row["tx_count_30d"]) == (2, 3, 4)
    assert (row["amount_sum_1d"], row["amount_sum_7d"], row["amount_sum_30d"]) == (60, 90, 100)
    assert row["amount_mean_30d"] == pytest.approx(25.0)
    assert row["amount_std_1d"] == pytest.approx(math.sqrt(200))  # sample std of 20, 40
    assert row["amount_std_30d"] == pytest.approx(12.909944487358056)
    assert (row["amount_max_1d"], row["amount_max_30d"]) == (40.0, 40.0)
    assert (row["distinct_merchants_1d"], row["distinct_merchants_7d"]) == (2, 3)
    assert row["distinct_merchants_30d"] == 3
    assert (row["distinct_categories_1d"], row["distinct_categories_30d"]) == (1, 2)
    assert row["night_share_1d"] == 0 and row["night_share_7d"] == pytest.approx(1 / 3)
    assert row["foreign_share_30d"] == pytest.approx(1 / 4)
    assert row["days_since_prev_tx"] == pytest.approx(0.25)  # 18:00 → midnight
    assert row["days_since_signup"] == (D - dt.date(2025, 1, 1)).days + 1
    assert row["chargebacks_to_date"] == 2  # the report at the snapshot time is excluded
    assert row["home_country"] == "US"


def test_quiet_and_new_customers() -> None:
    frame = customer_daily_features(TX, CUSTOMERS, LABELS, D, D)
    quiet = _row(frame, 2)  # one transaction 20 days ago
    assert (quiet["tx_count_1d"], quiet["tx_count_30d"]) == (0, 1)
    assert quiet["amount_mean_1d"] is None and quiet["amount_std_30d"] is None
    assert quiet["night_share_1d"] is None
    assert quiet["days_since_prev_tx"] == pytest.approx(20.5)
    assert quiet["chargebacks_to_date"] == 1
    signed_up = _row(frame, 3)  # signed up, never transacted: a row of zeros
    assert signed_up["tx_count_30d"] == 0 and signed_up["days_since_prev_tx"] is None
    assert signed_up["chargebacks_to_date"] == 0
    assert frame.filter(pl.col("customer_id") == 4).height == 0  # signs up later


def test_one_row_per_customer_per_day_and_valid() -> None:
    first = _ago(5)
    frame = customer_daily_features(TX, CUSTOMERS, LABELS, first, D)
    assert frame.group_by("customer_id").len().sort("customer_id").rows() == [
        (1, 6),
        (2, 6),
        (3, 6),
    ]
    assert validate(frame, CustomerDaily).passed


def test_a_whole_range_equals_day_by_day() -> None:
    first = _ago(12)
    together = customer_daily_features(TX, CUSTOMERS, LABELS, first, D)
    apart = pl.concat(
        customer_daily_features(TX, CUSTOMERS, LABELS, day, day)
        for day in pl.date_range(first, D, "1d", eager=True).to_list()
    ).sort("customer_id", "event_timestamp")
    assert together.equals(apart)


def test_a_day_reads_only_the_30_days_before_it() -> None:
    assert input_range(D, D) == (D - dt.timedelta(days=30), D)
    late_history = _tx([(1, 10, "grocery", 1e6, "US", _at(_ago(31), 12))])
    with_old = customer_daily_features(pl.concat([TX, late_history]), CUSTOMERS, LABELS, D, D)
    assert with_old.equals(customer_daily_features(TX, CUSTOMERS, LABELS, D, D))
