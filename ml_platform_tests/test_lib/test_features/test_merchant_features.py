import datetime as dt

import polars as pl
import pytest

from ml_platform.lib.features.merchant import merchant_daily_features
from ml_platform.lib.features.schemas import MerchantDaily
from ml_platform.lib.validation import validate

UTC = dt.UTC
D = dt.date(2026, 2, 10)


def _at(days_ago: int, hour: int = 12) -> dt.datetime:
    day = D - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _tx(rows: list[tuple[str, int, int, float, dt.datetime]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "transaction_id": [r[0] for r in rows],
            "merchant_id": [r[1] for r in rows],
            "customer_id": [r[2] for r in rows],
            "amount": [r[3] for r in rows],
            "event_timestamp": [r[4] for r in rows],
            "event_date": [r[4].date() for r in rows],
        },
        schema_overrides={"event_timestamp": pl.Datetime("us", "UTC")},
    )


TX = _tx(
    [
        ("a", 7, 1, 10.0, _at(2)),
        ("b", 7, 1, 20.0, _at(1)),
        ("c", 7, 2, 30.0, _at(0)),
        ("d", 7, 3, 40.0, _at(20)),
        ("e", 8, 1, 50.0, _at(30)),  # merchant 8: last seen 30 days ago -> exit row of zeros
    ]
)


def _labels(
    rows: list[tuple[str, dt.datetime, int | None, dt.datetime | None]],
) -> pl.LazyFrame:
    """Silver labels: each reported transaction (id, reported_at) with its merchant and time."""
    return pl.LazyFrame(
        {
            "transaction_id": [r[0] for r in rows],
            "reported_at": [r[1] for r in rows],
            "merchant_id": [r[2] for r in rows],
            "event_timestamp": [r[3] for r in rows],
        },
        schema_overrides={
            "reported_at": pl.Datetime("us", "UTC"),
            "merchant_id": pl.Int64(),
            "event_timestamp": pl.Datetime("us", "UTC"),
        },
    )


LABELS = _labels(
    [
        ("a", _at(1), 7, _at(2)),
        ("c", _at(-1), 7, _at(0)),  # c is reported tomorrow: not yet known
        ("d", _at(5), 7, _at(20)),
        ("z", _at(3), None, None),  # z: a chargeback whose transaction is unknown
    ]
)


def test_merchant_windows_and_reported_fraud() -> None:
    frame = merchant_daily_features(TX, LABELS, D, D)
    [row] = frame.filter(pl.col("merchant_id") == 7).to_dicts()
    assert (row["merchant_tx_count_7d"], row["merchant_tx_count_30d"]) == (3, 4)
    assert row["merchant_amount_mean_7d"] == pytest.approx(20.0)
    assert row["merchant_customer_share_7d"] == pytest.approx(2 / 3)
    assert row["merchant_customer_share_30d"] == pytest.approx(3 / 4)
    assert row["merchant_fraud_rate_7d"] == pytest.approx(1 / 3)  # a only
    assert row["merchant_fraud_rate_30d"] == pytest.approx(2 / 4)  # a and d
    [gone] = frame.filter(pl.col("merchant_id") == 8).to_dicts()
    assert gone["merchant_tx_count_30d"] == 0 and gone["merchant_fraud_rate_30d"] is None
    assert validate(frame, MerchantDaily).passed


def test_a_report_counts_from_its_day_on() -> None:
    frame = merchant_daily_features(TX, LABELS, D - dt.timedelta(days=3), D + dt.timedelta(days=1))
    rates = dict(
        frame.filter(pl.col("merchant_id") == 7)
        .select("feature_date", "merchant_fraud_rate_7d")
        .rows()
    )
    assert rates[D - dt.timedelta(days=2)] == 0  # a happened, not reported yet
    assert rates[D - dt.timedelta(days=1)] == pytest.approx(1 / 2)  # a reported
    assert rates[D + dt.timedelta(days=1)] == pytest.approx(2 / 3)  # c reported


def test_a_whole_range_equals_day_by_day() -> None:
    first, last = D - dt.timedelta(days=10), D + dt.timedelta(days=3)
    together = merchant_daily_features(TX, LABELS, first, last)
    apart = pl.concat(
        merchant_daily_features(TX, LABELS, day, day)
        for day in pl.date_range(first, last, "1d", eager=True).to_list()
    ).sort("merchant_id", "event_timestamp")
    assert together.equals(apart)


def test_a_label_of_a_merchant_without_transactions_is_ignored() -> None:
    """Labels carry their own merchant: one that has no transaction in the window (labels
    written before a correction moved the transaction) counts nowhere, one day or many."""
    stray = _labels([("y", _at(1), 99, _at(2))])
    labels = pl.concat([LABELS, stray])
    for first in (D, D - dt.timedelta(days=3)):
        assert merchant_daily_features(TX, labels, first, D).equals(
            merchant_daily_features(TX, LABELS, first, D)
        )
