"""Exact, incremental-friendly window arithmetic over a dense entity × day grid.

Every window value for day D depends only on days D-N+1 … D, and is computed with integer
arithmetic (amounts in cents), so computing one day on its own and computing a whole history in
one pass give bit-identical results. Distinct counts use coverage intervals: each (entity,
other, day) presence covers the snapshot days until the window forgets it or the next presence
takes over, so a running sum of +1/-1 events counts distinct values in O(rows).
"""

import datetime as dt

import polars as pl

DAY = "day"


def day_range(first: dt.date, last: dt.date) -> pl.LazyFrame:
    """One row per day in ``[first, last]``."""
    return pl.LazyFrame({DAY: pl.date_range(first, last, "1d", eager=True)})


def dense_grid(entities: pl.LazyFrame, key: str, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """Every entity × every day in ``[first, last]``, sorted by entity then day."""
    return (
        entities.select(pl.col(key).cast(pl.Int64))
        .unique()
        .join(day_range(first, last), how="cross")
        .sort(key, DAY)
    )


def window_sum(column: str, days: int, key: str) -> pl.Expr:
    """Sum of an integer column over the last ``days`` rows of each entity (dense grid)."""
    return pl.col(column).rolling_sum(window_size=days, min_samples=1).over(key)


def window_max(column: str, days: int, key: str) -> pl.Expr:
    """Max of a non-negative column over the last ``days`` rows of each entity (nulls as 0)."""
    return pl.col(column).fill_null(0).rolling_max(window_size=days, min_samples=1).over(key)


def running_count(grid: pl.LazyFrame, events: pl.LazyFrame, key: str, name: str) -> pl.LazyFrame:
    """Add ``name`` = running sum over days of ``events``' ``delta`` per (key, day).

    ``events`` holds ``key``, ``day`` and an integer ``delta``; deltas on days outside the
    grid's range are ignored.
    """
    deltas = events.group_by(key, DAY).agg(pl.col("delta").sum())
    return (
        grid.join(deltas, on=[key, DAY], how="left")
        .sort(key, DAY)
        .with_columns(pl.col("delta").fill_null(0).cum_sum().over(key).cast(pl.Int64).alias(name))
        .drop("delta")
    )


def distinct_counts(
    grid: pl.LazyFrame,
    presence: pl.LazyFrame,
    key: str,
    other: str,
    windows: tuple[int, ...],
    prefix: str,
) -> pl.LazyFrame:
    """Add ``{prefix}_{days}``: distinct ``other`` values per key in each trailing window.

    ``presence`` holds ``key``, ``other`` and ``day`` (duplicates allowed). A presence on day d
    covers snapshot days d … min(d + days - 1, next presence - 1); the count on a day is the
    running sum of coverages started minus coverages ended, so each (key, other, day) is touched
    once per window, whatever the window length.
    """
    ordered = presence.select(key, other, DAY).unique().sort(key, other, DAY)
    same_pair = (pl.col(key).shift(-1) == pl.col(key)) & (pl.col(other).shift(-1) == pl.col(other))
    spans = ordered.with_columns(
        pl.when(same_pair).then(pl.col(DAY).shift(-1)).otherwise(None).alias("next_day")
    )
    result = grid.join(
        spans.group_by(key, DAY).agg(pl.len().cast(pl.Int64).alias("_starts")),
        on=[key, DAY],
        how="left",
    )
    for days in windows:
        horizon = pl.col(DAY) + pl.duration(days=days)
        until = pl.min_horizontal(horizon, pl.col("next_day").fill_null(horizon))
        ends = spans.group_by(key, until.alias(DAY)).agg(
            pl.len().cast(pl.Int64).alias(f"_ends_{days}")
        )
        result = result.join(ends, on=[key, DAY], how="left")
    return (
        result.sort(key, DAY)
        .with_columns(
            (pl.col("_starts").fill_null(0) - pl.col(f"_ends_{days}").fill_null(0))
            .cum_sum()
            .over(key)
            .alias(f"{prefix}_{days}")
            for days in windows
        )
        .drop("_starts", *(f"_ends_{days}" for days in windows))
    )


def interval_events(frame: pl.LazyFrame, key: str, start: pl.Expr, until: pl.Expr) -> pl.LazyFrame:
    """+1 at ``start`` and -1 at ``until`` (exclusive end) for each row where start < until."""
    spans = frame.select(key, start.alias("start"), until.alias("until")).filter(
        pl.col("start") < pl.col("until")
    )
    return pl.concat(
        [
            spans.select(key, pl.col("start").alias(DAY), pl.lit(1, pl.Int64).alias("delta")),
            spans.select(key, pl.col("until").alias(DAY), pl.lit(-1, pl.Int64).alias("delta")),
        ]
    )


def cents(amount: pl.Expr) -> pl.Expr:
    """Amount as integer cents (exact sums)."""
    return (amount * 100).round(0).cast(pl.Int64)


def squared_cents(amount: pl.Expr) -> pl.Expr:
    """Squared cents as Int128 (no overflow, exact sums)."""
    return cents(amount).cast(pl.Int128) ** 2


# Results of float division are rounded: Polars may evaluate `x / c` with a different kernel
# from one run to the next (1-ulp differences seen here), and a feature must be bit-identical
# whether its day is computed alone or in a backfill. Six decimals is far below a cent.
DECIMALS = 6


def amount_from_cents(total_cents: pl.Expr) -> pl.Expr:
    """A cent total as an amount (exactly representable to 2 decimals)."""
    return (total_cents / 100.0).round(2)


def mean_from_cents(total_cents: pl.Expr, count: pl.Expr) -> pl.Expr:
    """Mean amount from a cent total and a count (null for no rows)."""
    return pl.when(count > 0).then((total_cents / count / 100.0).round(DECIMALS)).otherwise(None)


def std_from_cents(total_cents: pl.Expr, squares_cents: pl.Expr, count: pl.Expr) -> pl.Expr:
    """Sample standard deviation from exact integer sums (null for fewer than two rows)."""
    total = total_cents.cast(pl.Int128)
    numerator = (count.cast(pl.Int128) * squares_cents - total * total).cast(pl.Float64)
    variance = numerator / (count * (count - 1)).cast(pl.Float64)
    std = (variance.clip(lower_bound=0).sqrt() / 100.0).round(DECIMALS)
    return pl.when(count > 1).then(std).otherwise(None)


def share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """``part / whole``, null when ``whole`` is 0."""
    return pl.when(whole > 0).then((part / whole).round(DECIMALS)).otherwise(None)


def days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Fractional days from ``earlier`` to ``later``."""
    return ((later - earlier).dt.total_microseconds() / 86_400e6).round(DECIMALS)


def snapshot_timestamp() -> pl.Expr:
    """End of the row's day (next midnight, UTC): the time the snapshot describes."""
    return (pl.col(DAY) + pl.duration(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
