"""One day computed on its own (plain aggregations) equals that day of a range (dense grid).

The daily job computes one new day with a different method from a backfill; both must give
bit-identical rows for any history. Random histories with everything the windows care about:
repeat merchants and categories inside and across windows, night and foreign transactions,
amounts with odd cents, quiet days, customers who sign up late or never transact, chargebacks
reported before, on and after the day, and activity that has just left a window.
"""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.features import day_windows
from ml_platform.lib.features.customer import customer_daily_features
from ml_platform.lib.features.merchant import merchant_daily_features

UTC = dt.UTC
START = dt.date(2026, 1, 1)
DAYS = 75


def _history(seed: int) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    rng = np.random.default_rng(seed)
    n = 3_000
    day = rng.integers(0, DAYS, n)
    # bursts: some customers are only active in the first weeks, so their windows empty out
    customer = np.where(day < 20, rng.integers(1, 80, n), rng.integers(1, 60, n))
    seconds = rng.integers(0, 86_400, n)
    ts = [
        dt.datetime.combine(START + dt.timedelta(days=int(d)), dt.time(), UTC)
        + dt.timedelta(seconds=int(s))
        for d, s in zip(day, seconds, strict=True)
    ]
    transactions = pl.LazyFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "customer_id": customer,
            "merchant_id": rng.integers(1, 25, n),
            "merchant_category": rng.choice(["grocery", "travel", "fuel", "gaming"], n),
            "amount": np.round(rng.lognormal(3, 1.2, n), 2),
            "country": rng.choice(["US", "US", "US", "FR", "GB"], n),
            "event_timestamp": ts,
            "event_date": [t.date() for t in ts],
        },
        schema_overrides={"event_timestamp": pl.Datetime("us", "UTC")},
    )
    customers = pl.LazyFrame(
        {
            "customer_id": np.arange(1, 95),  # 80..94 never transact
            "signup_date": [
                START + dt.timedelta(days=int(d)) for d in rng.integers(-60, DAYS + 5, 94)
            ],
            "home_country": rng.choice(["US", "FR", "GB"], 94),
        }
    )
    frauds = rng.choice(n, 150, replace=False)
    delays = rng.integers(0, 25, 150)
    merchants = transactions.select("merchant_id").collect().to_series().to_numpy()
    labels = pl.LazyFrame(
        {  # as silver labels: the transaction's customer, merchant and time attached
            "transaction_id": [f"t{i}" for i in frauds],
            "customer_id": customer[frauds],
            "merchant_id": merchants[frauds],
            "event_timestamp": [ts[i] for i in frauds],
            "reported_at": [
                ts[i] + dt.timedelta(days=int(d), hours=3)
                for i, d in zip(frauds, delays, strict=True)
            ],
        },
        schema_overrides={
            "reported_at": pl.Datetime("us", "UTC"),
            "event_timestamp": pl.Datetime("us", "UTC"),
        },
    )
    return transactions, customers, labels


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return pl.date_range(first, last, "1d", eager=True).to_list()


@pytest.fixture(params=["table", "sort"])
def distinct_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the one-day path counts distinct values: a keys x codes table, or a sort."""
    if request.param == "sort":
        monkeypatch.setattr(day_windows, "DENSE_DISTINCT_CELLS", 0)
    return request.param


@pytest.mark.parametrize("seed", [1, 2])
def test_customer_days_alone_equal_the_range(seed: int, distinct_by: str) -> None:
    tx, customers, labels = _history(seed)
    first, last = START + dt.timedelta(days=3), START + dt.timedelta(days=DAYS + 2)
    together = customer_daily_features(tx, customers, labels, first, last)
    apart = pl.concat(
        customer_daily_features(tx, customers, labels, day, day) for day in _days(first, last)
    ).sort("customer_id", "event_timestamp")
    assert together.height > 3_000
    assert together.equals(apart)


@pytest.mark.parametrize("seed", [1, 2])
def test_merchant_days_alone_equal_the_range(seed: int, distinct_by: str) -> None:
    tx, _, labels = _history(seed)
    first, last = START, START + dt.timedelta(days=DAYS + 35)  # past the end: windows empty out
    together = merchant_daily_features(tx, labels, first, last)
    apart = pl.concat(
        merchant_daily_features(tx, labels, day, day) for day in _days(first, last)
    ).sort("merchant_id", "event_timestamp")
    assert together.height > 1_000
    assert together.get_column("merchant_fraud_rate_30d").drop_nulls().max() > 0
    assert together.equals(apart)


def test_chargebacks_to_date_count_every_report_before_the_snapshot() -> None:
    """Brute force: the as-of join needs each customer's days in order, not the whole frame's."""
    tx, customers, labels = _history(3)
    frame = customer_daily_features(
        tx, customers, labels, START + dt.timedelta(days=3), START + dt.timedelta(days=DAYS + 2)
    )
    expected = (
        frame.select("customer_id", "event_timestamp")
        .join(labels.collect().select("customer_id", "reported_at"), on="customer_id", how="left")
        .group_by("customer_id", "event_timestamp")
        .agg((pl.col("reported_at") < pl.col("event_timestamp")).sum().alias("expected"))
    )
    checked = frame.join(expected, on=["customer_id", "event_timestamp"], how="left")
    assert checked.get_column("expected").max() > 1  # customers with several reports
    assert checked.get_column("chargebacks_to_date").equals(
        checked.get_column("expected").cast(pl.Int64), check_names=False
    )


def test_amounts_whose_squares_pass_int64_take_the_exact_path() -> None:
    """$40M is 4e9 cents: its square is past int64, so the day goes the Int128 way."""
    tx, customers, labels = _history(1)
    huge = tx.collect().filter(pl.col("transaction_id") == "t7").row(0, named=True)
    tx = tx.with_columns(
        pl.when(pl.col("transaction_id") == "t7")
        .then(pl.lit(40_000_000.0))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    first = huge["event_date"]
    last = first + dt.timedelta(days=3)
    together = customer_daily_features(tx, customers, labels, first, last)
    apart = pl.concat(
        customer_daily_features(tx, customers, labels, day, day) for day in _days(first, last)
    ).sort("customer_id", "event_timestamp")
    assert together.get_column("amount_max_30d").max() == 40_000_000.0
    assert together.equals(apart)


def test_merchant_sums_past_int64_take_the_range_path(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, _, labels = _history(2)
    day = START + dt.timedelta(days=40)
    expected = merchant_daily_features(tx, labels, day, day)
    monkeypatch.setattr(day_windows, "fits_int64", lambda values, rows_per_key: False)
    assert merchant_daily_features(tx, labels, day, day).equals(expected)
