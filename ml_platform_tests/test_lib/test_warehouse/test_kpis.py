"""Daily KPIs: exact figures on hand-built frames, matured and not matured."""

import datetime as dt

import polars as pl
import pytest

from ml_platform.lib.warehouse.kpis import daily_kpis, data_as_of

D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 5)


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


TRANSACTIONS = pl.LazyFrame(
    {
        "transaction_id": ["a", "b", "c", "d", "e", "f", "g"],
        "event_date": [D1, D1, D1, D1, D2, D2, D3],
        "amount": [10.0, 20.0, 30.0, 40.0, 5.0, 15.0, 100.0],
        "channel": ["pos", "pos", "online", "online", "pos", "online", "atm"],
    }
)
SCORES = pl.LazyFrame(
    {  # d is not scored
        "transaction_id": ["a", "b", "c", "e", "f", "g"],
        "flagged": [True, True, False, True, False, True],
    }
)
LABELS = pl.LazyFrame(
    {
        "transaction_id": ["a", "c", "d", "e", "g"],
        "is_fraud": [True, True, True, True, True],
        # a and c within D1's 2-day horizon (before Jan 4 00:00); d after it; e within D2's.
        "reported_at": [
            _at(D1, 20),
            dt.datetime(2026, 1, 3, 23, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 4, 0, 0, tzinfo=dt.UTC),
            _at(D2, 18),
            _at(D3, 13),
        ],
    },
    schema_overrides={"reported_at": pl.Datetime("us", "UTC")},
)
AS_OF = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)  # end of D3


def test_the_data_clock_is_the_end_of_the_newest_day() -> None:
    assert data_as_of(TRANSACTIONS) == AS_OF
    assert data_as_of(TRANSACTIONS.clear()) is None


def test_matured_days_get_fraud_rate_precision_and_recall_within_the_horizon() -> None:
    kpis = daily_kpis(TRANSACTIONS, SCORES, LABELS, 2, AS_OF)
    day1, day2, day3 = kpis.to_dicts()
    assert day1["event_date"] == D1 and day1["labels_as_of"] == dt.datetime(
        2026, 1, 4, tzinfo=dt.UTC
    )
    assert day1["matured"] and day2["matured"] and not day3["matured"]
    assert (day1["transactions"], day1["amount"], day1["mean_amount"]) == (4, 100.0, 25.0)
    assert (day1["scored_transactions"], day1["alerts"]) == (3, 2)
    assert day1["alert_rate"] == pytest.approx(2 / 3)
    # d's chargeback came exactly at the horizon: reported to date, not a matured fraud.
    assert day1["frauds_reported_to_date"] == 3
    assert day1["matured_frauds"] == 2 and day1["matured_fraud_rate"] == 0.5
    # alerts a (fraud) and b (not): precision 1/2; scored matured frauds a, c: recall 1/2.
    assert (day1["true_alerts"], day1["alert_precision"], day1["alert_recall"]) == (1, 0.5, 0.5)
    assert (day2["alerts"], day2["true_alerts"], day2["alert_precision"]) == (1, 1, 1.0)


def test_an_immature_day_has_null_fraud_figures_not_low_ones() -> None:
    day3 = daily_kpis(TRANSACTIONS, SCORES, LABELS, 2, AS_OF).row(2, named=True)
    assert day3["frauds_reported_to_date"] == 1 and day3["alerts"] == 1
    for column in ("matured_frauds", "matured_fraud_rate", "true_alerts", "alert_precision"):
        assert day3[column] is None, column


def test_labels_reported_after_the_data_clock_are_unknown() -> None:
    early = dt.datetime(2026, 1, 2, 17, tzinfo=dt.UTC)  # before e is reported
    day2 = daily_kpis(TRANSACTIONS, SCORES, LABELS, 0, early).row(1, named=True)
    assert day2["frauds_reported_to_date"] == 0


def test_a_matured_day_without_alerts_has_no_precision() -> None:
    scores = SCORES.with_columns(pl.lit(False).alias("flagged"))
    day1 = daily_kpis(TRANSACTIONS, scores, LABELS, 2, AS_OF).row(0, named=True)
    assert day1["alerts"] == 0 and day1["alert_rate"] == 0.0
    assert day1["alert_precision"] is None and day1["alert_recall"] == 0.0


def test_grouping_by_channel_splits_the_counts() -> None:
    kpis = daily_kpis(TRANSACTIONS, SCORES, LABELS, 2, AS_OF, by=("channel",))
    first = kpis.filter(pl.col("event_date") == D1)
    assert first["channel"].to_list() == ["online", "pos"]
    assert first["transactions"].to_list() == [2, 2]
    assert first["alert_precision"].to_list() == [None, 0.5]  # online: no alert
    assert kpis["transactions"].sum() == 7
