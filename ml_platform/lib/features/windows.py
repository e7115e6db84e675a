"""Exact, incremental-friendly window arithmetic over a dense entity × day grid.

Every window value for day D depends only on days D-N+1 … D, and is computed with integer
arithmetic (amounts in cents), so computing one day on its own and computing a whole history in
one pass give bit-identical results. Distinct counts use coverage intervals: each (entity,
other, day) presence covers the snapshot days until the window forgets it or the next presence
takes over, so a running sum of +1/-1 events counts distinct values in O(rows).
"""

import datetime as dt

import numpy as np
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
        .sort(key)
        .join(day_range(first, last), how="cross", maintain_order="left_right")
    )


def window_sum(column: str, days: int, key: str) -> pl.Expr:
    """Sum of an integer column over the last ``days`` rows of each entity (dense grid)."""
    return pl.col(column).rolling_sum(window_size=days, min_samples=1).over(key)


def window_sums(
    grid: pl.DataFrame, key: str, column: str, windows: tuple[int, ...]
) -> list[pl.Series]:
    """``{column}_{days}``: sums of an integer column over each key's last ``days`` rows.

    ``window_sum`` for a dense grid (``dense_grid(...).collect()``) and a column without
    nulls, computed on the grid as a keys × days matrix: one cumulative sum along the days,
    then one subtraction per window (polars' ``rolling_sum().over(key)`` per window took ~4x
    longer). Exact: integer arithmetic, as ``window_sum``.
    """
    values = grid.get_column(column)
    if not values.dtype.is_integer() or values.null_count():
        raise ValueError(f"window_sums needs an integer column without nulls, got {column!r}")
    _, n_days = _grid_layout(grid, key, "window_sums")
    running = np.cumsum(values.to_numpy().reshape(-1, max(n_days, 1)), axis=1)
    sums = []
    for days in windows:
        window = running.copy()  # day j: running[j] - running[j - days], once j >= days
        if days < n_days:
            window[:, days:] -= running[:, : n_days - days]
        sums.append(pl.Series(f"{column}_{days}", window.ravel(), dtype=values.dtype))
    return sums


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


def _grid_layout(grid: pl.DataFrame, key: str, caller: str) -> tuple[pl.Series, int]:
    """The distinct keys of a dense grid in order, and its days per key; refuses other grids."""
    keys = grid.get_column(key).cast(pl.Int64)
    ids = keys.unique(maintain_order=True)
    n_days = grid.height // max(ids.len(), 1)
    if ids.len() * n_days != grid.height or not keys.is_sorted():
        raise ValueError(f"{caller} needs a dense grid sorted by {key}, day")
    return ids, n_days


def _grid_coordinates(
    grid: pl.DataFrame, ids: pl.Series, n_days: int, frame: pl.DataFrame, key: str, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``frame`` (``key``, ``day``): its key's rank on the grid and its day index.

    Its grid row is ``rank * n_days + day``. Refuses a key that is not on the grid or a day
    outside its range.
    """
    first = grid.get_column(DAY)[0]
    keys = frame.get_column(key).cast(pl.Int64).to_numpy()
    rank = key_ranks(ids.to_numpy(), keys)
    day = days_after(first, frame.get_column(DAY))
    if frame.height and (rank.min() < 0 or day.min() < 0 or day.max() >= n_days):
        raise ValueError(f"{caller}: a row's {key} or day is not on the grid")
    return rank, day


def days_after(origin: dt.date, days: pl.Series) -> np.ndarray:
    """Each date's distance in days from ``origin`` (int64; negative before it)."""
    return days.to_physical().cast(pl.Int64).to_numpy() - (origin - dt.date(1970, 1, 1)).days


def key_ranks(known: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The position of each key in ``known`` (sorted, distinct); -1 for a key not in it.

    Dense ids (the usual case) go through a lookup table, O(1) per key; others through a
    binary search (~15x slower on a million keys).
    """
    if keys.size == 0 or known.size == 0:
        return np.full(keys.size, -1, dtype=np.int64)
    low, high = int(known[0]), int(known[-1])
    if high - low < 4 * known.size + (1 << 16):
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[known - low] = np.arange(known.size)
        inside = (keys >= low) & (keys <= high)
        return np.where(inside, table[np.clip(keys, low, high) - low], -1)
    rank = np.searchsorted(known, keys)
    found = known[np.minimum(rank, known.size - 1)] == keys
    return np.where(found, rank, -1)


def scatter_daily(grid: pl.DataFrame, daily: pl.DataFrame, key: str) -> pl.DataFrame:
    """Add ``daily``'s other columns to a dense grid at their (key, day) rows; null elsewhere.

    The left join of the daily aggregates onto the grid, by row position: a (key, day) of the
    dense grid (``dense_grid(...).collect()``) is the row ``rank(key) * days + day``, so each
    column is one ``scatter`` into an all-null column, the grid's order kept (a two-column hash
    join of the same frames is ~3x slower). ``daily`` holds at most one row per (key, day), on
    the grid.
    """
    if grid.height == 0:
        return grid.with_columns(
            pl.lit(None, dtype).alias(name)
            for name, dtype in daily.schema.items()
            if name not in (key, DAY)
        )
    ids, n_days = _grid_layout(grid, key, "scatter_daily")
    rank, day = _grid_coordinates(grid, ids, n_days, daily, key, "scatter_daily")
    rows = rank * n_days + day
    if rows.size and np.bincount(rows).max() > 1:
        raise ValueError(f"scatter_daily: daily holds a ({key}, {DAY}) more than once")
    columns = [
        pl.repeat(None, grid.height, dtype=dtype, eager=True)
        .alias(name)
        .scatter(rows, daily.get_column(name))
        for name, dtype in daily.schema.items()
        if name not in (key, DAY)
    ]
    return grid.with_columns(columns)


def distinct_counts(
    grid: pl.DataFrame,
    presence: pl.DataFrame,
    key: str,
    other: str,
    windows: tuple[int, ...],
    prefix: str,
) -> pl.DataFrame:
    """Add ``{prefix}_{days}``: distinct ``other`` values per key in each trailing window.

    ``grid`` is a dense grid (``dense_grid(...).collect()``: every key × every day, sorted by
    key then day); ``presence`` holds ``key``, ``other`` and ``day`` (duplicates allowed, keys
    on the grid, days in its range). A presence on day d covers the snapshot days d …
    min(d + days, next presence of the same pair) - 1; the count on a day is the running sum
    of coverages started minus coverages ended. On the dense grid a (key, day) is a row
    position, so the starts and ends are counted with ``bincount`` and the running sum is one
    ``cumsum`` over the whole grid: an end past a key's last day lands on the next key's first
    row, where it cancels that key's share of the running sum exactly. O(rows), no sort of the
    grid and no join.
    """
    ids, n_days = _grid_layout(grid, key, "distinct_counts")
    size = grid.height
    if size == 0:
        return grid.with_columns(pl.lit(0, pl.Int64).alias(f"{prefix}_{days}") for days in windows)
    rank, day = _grid_coordinates(grid, ids, n_days, presence, key, "distinct_counts")
    # (key, other, day) as one integer, ordered by key, then other, then day: one sort of
    # integers, then repeats dropped (a polars unique + sort of the three columns took ~8x
    # longer; numpy 2.4's np.unique ~15x, it hashes before sorting).
    code, n_codes = value_codes(presence.get_column(other))
    if ids.len() * n_codes * n_days >= 2**62:
        raise ValueError(f"distinct_counts: {ids.len()} keys x {n_codes} values x {n_days} days")
    triple = np.sort((rank * n_codes + code) * n_days + day)
    triple = triple[np.concatenate(([True], triple[1:] != triple[:-1]))[: triple.size]]
    day, pair = triple % n_days, triple // n_days
    row0 = pair // n_codes * n_days
    ends_at = np.full(triple.size, n_days)
    same_pair = pair[1:] == pair[:-1]
    ends_at[:-1][same_pair] = day[1:][same_pair]
    started = np.bincount(row0 + day, minlength=size + 1)
    counts = []
    for days in windows:
        until = np.minimum(np.minimum(day + days, ends_at), n_days)
        running = np.cumsum(started - np.bincount(row0 + until, minlength=size + 1))
        counts.append(pl.Series(f"{prefix}_{days}", running[:size], dtype=pl.Int64))
    return grid.with_columns(counts)


def value_codes(values: pl.Series) -> tuple[np.ndarray, int]:
    """An integer code per value, and the number of codes (``0 … n - 1``).

    Equal values get equal codes and null a code of its own; the codes say nothing else (they
    feed distinct counts). Dense integer ids are their offset from the smallest; text is
    categorical (read as such, or cast here), whose ids Polars assigns as it interns the
    strings (~3x faster than ranking the distinct values); they are renumbered densely, as
    the process's other categorical columns share the id space.
    """
    if values.dtype.is_integer() and values.len() > values.null_count():
        low, high = int(values.min()), int(values.max())  # type: ignore[arg-type]
        if high - low < max(values.len(), 1 << 16):  # dense ids: the offset is the code
            code = (values.cast(pl.Int64) - low).fill_null(high - low + 1).to_numpy()
            return code, high - low + 2
    if values.dtype in (pl.String, pl.Categorical) and values.len() > values.null_count():
        ids = values.cast(pl.Categorical).to_physical()
        top = int(ids.max())  # type: ignore[arg-type]
        if top < max(values.len(), 1 << 16):
            interned = ids.fill_null(top + 1).to_numpy()
            present = np.bincount(interned, minlength=top + 2) > 0
            renumbered = np.cumsum(present) - 1
            return renumbered[interned], int(renumbered[-1]) + 1
    distinct = values.drop_nulls().unique().sort()
    if distinct.len() == 0:
        return np.full(values.len(), 0, dtype=np.int64), 1
    positions = pl.int_range(distinct.len(), eager=True, dtype=pl.Int64)
    code = values.replace_strict(distinct, positions, return_dtype=pl.Int64)
    return code.fill_null(distinct.len()).to_numpy(), distinct.len() + 1


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


def before_utc_hour(timestamp: pl.Expr, hour: int) -> pl.Expr:
    """Whether a timestamp's time of day in UTC is before ``hour`` o'clock.

    Arithmetic on the epoch (floor modulo, so also before 1970): ``dt.hour()`` converts each
    value through its time zone, ~5x slower on a 31-day lookback.
    """
    return (timestamp.dt.epoch("us") % 86_400_000_000) < hour * 3_600_000_000


def snapshot_engine(first: dt.date, last: dt.date) -> str:
    """The Polars engine for the final ``collect`` of snapshots of ``[first, last]``.

    One day's snapshots are small (one row per entity): Polars 2.1's default (streaming) engine
    spends ~0.1 s setting up an as-of join alone, the in-memory engine ~7 ms on 88k customers.
    Ranges keep the default.
    """
    return "in-memory" if first == last else "auto"


def snapshot_timestamp() -> pl.Expr:
    """End of the row's day (next midnight, UTC): the time the snapshot describes."""
    return (pl.col(DAY) + pl.duration(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
