"""Merchant daily snapshots: volume, customers and reported fraud over 7/30-day windows."""

import datetime as dt

import polars as pl

from ml_platform.lib.features import windows as w
from ml_platform.lib.features.catalog import (
    FEATURE_DATE,
    MERCHANT_DAILY,
    MERCHANT_WINDOWS,
    TIMESTAMP,
)

KEY = MERCHANT_DAILY.join_key
LOOKBACK_DAYS = 30


def input_range(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The transaction days needed to compute snapshots for ``[first, last]``."""
    return first - dt.timedelta(days=LOOKBACK_DAYS), last


def merchant_daily_features(
    transactions: pl.LazyFrame, labels: pl.LazyFrame, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """Merchant snapshots for every day in ``[first, last]``.

    A merchant has a row on every day it had a transaction in the 31 days up to it (so the
    row after its activity leaves the 30-day window says so). The fraud rate counts a window's
    transactions whose chargeback was reported before the end of the day.
    """
    start, _ = input_range(first, last)
    tx = (
        transactions.filter(pl.col("event_date").is_between(start, last))
        .select("transaction_id", KEY, "customer_id", "amount", "event_timestamp")
        .with_columns(pl.col("event_timestamp").dt.date().alias(w.DAY))
        .collect()  # read once: the windows, the fraud and the distinct counts all need it
        .lazy()
    )
    reported = tx.join(
        labels.select("transaction_id", pl.col("reported_at").dt.date().alias("report_day")),
        on="transaction_id",
        how="inner",
    )
    grid = (
        _one_day_windows(tx, reported, last)
        if first == last
        else _range_windows(tx, reported, start, last)
    )

    features: list[pl.Expr] = []
    for days in MERCHANT_WINDOWS:
        n = pl.col(f"n_{days}")
        features += [
            n.alias(f"merchant_tx_count_{days}d"),
            w.mean_from_cents(pl.col(f"cents_{days}"), n).alias(f"merchant_amount_mean_{days}d"),
            w.share(pl.col(f"customers_{days}"), n).alias(f"merchant_customer_share_{days}d"),
            w.share(pl.col(f"fraud_{days}"), n).alias(f"merchant_fraud_rate_{days}d"),
        ]
    return (
        grid.filter((pl.col(w.DAY) >= first) & (pl.col("active_31") > 0))
        .select(
            pl.col(KEY),
            w.snapshot_timestamp().alias(TIMESTAMP),
            pl.col(w.DAY).alias(FEATURE_DATE),
            *features,
        )
        .sort(KEY, TIMESTAMP)
        .collect()
        .cast(MERCHANT_DAILY.schema)
    )


def _range_windows(
    tx: pl.LazyFrame, reported: pl.LazyFrame, start: dt.date, last: dt.date
) -> pl.LazyFrame:
    """Window columns for every merchant and day in ``[start, last]``: the dense-grid way."""
    daily = tx.group_by(KEY, w.DAY).agg(
        pl.len().cast(pl.Int64).alias("n"), w.cents(pl.col("amount")).sum().alias("cents")
    )
    counted = w.distinct_counts(
        w.dense_grid(tx.select(KEY), KEY, start, last).collect(),
        tx.select(KEY, "customer_id", w.DAY).collect(),
        KEY,
        "customer_id",
        MERCHANT_WINDOWS,
        "customers",
    )
    grid = w.scatter_daily(counted, daily.collect(), KEY).with_columns(
        pl.col("n", "cents").fill_null(0)
    )
    sums = [
        series
        for column in ("n", "cents")
        for series in w.window_sums(grid, KEY, column, MERCHANT_WINDOWS)
    ]
    [active] = w.window_sums(grid, KEY, "n", (LOOKBACK_DAYS + 1,))
    grid = grid.with_columns(*sums, active.alias("active_31")).lazy()
    for days in MERCHANT_WINDOWS:
        fraud = w.interval_events(
            reported,
            KEY,
            start=pl.max_horizontal(pl.col(w.DAY), pl.col("report_day")),
            until=pl.col(w.DAY) + pl.duration(days=days),
        )
        grid = w.running_count(grid, fraud, KEY, f"fraud_{days}")
    return grid


def _one_day_windows(tx: pl.LazyFrame, reported: pl.LazyFrame, day: dt.date) -> pl.LazyFrame:
    """The same window columns for the one day ``day``: plain aggregations, no grid.

    Each column equals its ``_range_windows`` counterpart: a transaction of day t reported on
    day r counts as fraud on day ``day`` when t is in the window and r <= ``day`` (the
    coverage interval [max(t, r), t + window) of the grid path contains ``day``).
    """

    def within(days: int) -> pl.Expr:  # the window's days: day - days + 1 … day
        return pl.col(w.DAY).is_between(day - dt.timedelta(days=days - 1), day)

    aggregations: list[pl.Expr] = [
        within(LOOKBACK_DAYS + 1).sum().cast(pl.Int64).alias("active_31")
    ]
    fraud: list[pl.Expr] = []
    for days in MERCHANT_WINDOWS:
        aggregations += [
            within(days).sum().cast(pl.Int64).alias(f"n_{days}"),
            w.cents(pl.col("amount")).filter(within(days)).sum().alias(f"cents_{days}"),
            pl.col("customer_id")
            .filter(within(days))
            .n_unique()
            .cast(pl.Int64)
            .alias(f"customers_{days}"),
        ]
        fraud.append(
            (within(days) & (pl.col("report_day") <= day))
            .sum()
            .cast(pl.Int64)
            .alias(f"fraud_{days}")
        )
    counts = [f"fraud_{days}" for days in MERCHANT_WINDOWS]
    return (
        tx.group_by(KEY)
        .agg(aggregations)
        .join(reported.group_by(KEY).agg(fraud), on=KEY, how="left")
        .with_columns(pl.col(counts).fill_null(0), pl.lit(day).alias(w.DAY))
    )
