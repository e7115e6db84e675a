"""Merchant daily snapshots: volume, customers and reported fraud over 7/30-day windows."""

import datetime as dt

import numpy as np
import polars as pl

from ml_platform.lib.features import day_windows as dr
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

    Args:
        transactions: Silver transactions; only days in ``input_range(first, last)`` are read.
        labels: Silver labels (merchant_id, event_timestamp, reported_at): each reported
            transaction with its merchant and time, as silver attaches them (null for a
            chargeback whose transaction is unknown), so the transactions' ids are not read.
        first: First snapshot day.
        last: Last snapshot day.
    """
    start, _ = input_range(first, last)
    tx = (
        transactions.filter(pl.col("event_date").is_between(start, last))
        .select(KEY, "customer_id", "amount", "event_timestamp")
        .with_columns(pl.col("event_timestamp").dt.date().alias(w.DAY))
        .collect()  # read once: the windows and the distinct counts both need it
        .lazy()
    )
    reported = (
        labels.select(
            KEY,
            pl.col("event_timestamp").dt.date().alias(w.DAY),
            pl.col("reported_at").dt.date().alias("report_day"),
        )
        .filter(pl.col(KEY).is_not_null() & pl.col(w.DAY).is_between(start, last))
        .collect()
        .lazy()
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
        .collect(engine=w.snapshot_engine(first, last))
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
    """The same window columns for the one day ``day``: by row position, no grid.

    Each column equals its ``_range_windows`` counterpart: a transaction of day t reported on
    day r counts as fraud on day ``day`` when t is in the window and r <= ``day`` (the
    coverage interval [max(t, r), t + window) of the grid path contains ``day``). Sums past
    int64 (never met in practice: ~9e16 dollars) take the range path.
    """
    rows = tx.collect()
    keys = rows.select(pl.col(KEY).cast(pl.Int64).unique().sort())
    windows = (*MERCHANT_WINDOWS, LOOKBACK_DAYS + 1)
    placed = dr.DayRows.place(keys.get_column(KEY), rows[KEY], rows[w.DAY], day, windows)
    counts = placed.counts(windows)
    cents = rows.select(w.cents(pl.col("amount"))).to_series().to_numpy()
    if not dr.fits_int64(cents, counts[-1]):
        return _range_windows(tx, reported, day - dt.timedelta(days=LOOKBACK_DAYS), day)
    frauds = (
        reported.filter(
            (pl.col("report_day") <= day) & pl.col(KEY).is_in(keys.get_column(KEY).implode())
        )
        .select(KEY, w.DAY)
        .collect()
    )
    fraud = dr.DayRows.place(keys.get_column(KEY), frauds[KEY], frauds[w.DAY], day, windows)
    sums = placed.sums(cents, MERCHANT_WINDOWS)
    customers = placed.distinct(*w.value_codes(rows["customer_id"]), MERCHANT_WINDOWS)
    fraud_counts = fraud.counts(MERCHANT_WINDOWS)
    columns: dict[str, np.ndarray] = {"active_31": counts[-1]}
    for i, days in enumerate(MERCHANT_WINDOWS):
        columns[f"n_{days}"] = counts[i]
        columns[f"cents_{days}"] = sums[i]
        columns[f"customers_{days}"] = customers[i]
        columns[f"fraud_{days}"] = fraud_counts[i]
    frame = pl.concat([keys, pl.DataFrame(columns)], how="horizontal")
    return frame.with_columns(pl.lit(day).alias(w.DAY)).lazy()
