"""Distinct counts on the dense grid equal a brute-force count, and refuse what they can't do."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.features import windows as w

START = dt.date(2026, 1, 1)
LAST = dt.date(2026, 2, 14)
WINDOWS = (1, 7, 30)


def _grid(keys: list[int]) -> pl.DataFrame:
    return w.dense_grid(pl.LazyFrame({"k": keys}), "k", START, LAST).collect()


def _presence(seed: int, keys: list[int], n: int = 2_000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = (LAST - START).days + 1
    return pl.DataFrame(
        {
            "k": rng.choice(keys, n),
            "other": rng.integers(0, 12, n),  # few values: repeats inside and across windows
            w.DAY: [START + dt.timedelta(days=int(d)) for d in rng.integers(0, days, n)],
        }
    )


def _brute_force(grid: pl.DataFrame, presence: pl.DataFrame, days: int) -> list[int]:
    counts = []
    for key, day in grid.select("k", w.DAY).iter_rows():
        inside = presence.filter(
            (pl.col("k") == key) & pl.col(w.DAY).is_between(day - dt.timedelta(days=days - 1), day)
        )
        counts.append(inside.get_column("other").n_unique())
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distinct_counts_equal_a_brute_force_count(seed: int) -> None:
    keys = [3, 8, 9, 20, 41]  # 41 never appears: all zeros, and the last key's ends fall off
    grid = _grid(keys)
    presence = _presence(seed, keys[:-1])
    counted = w.distinct_counts(grid, presence, "k", "other", WINDOWS, "n")
    assert counted.select("k", w.DAY).equals(grid)
    for days in WINDOWS:
        assert counted.get_column(f"n_{days}").to_list() == _brute_force(grid, presence, days)
    assert counted.get_column("n_1").dtype == pl.Int64


def test_no_presence_counts_zero_everywhere() -> None:
    grid = _grid([3, 8])
    counted = w.distinct_counts(grid, _presence(1, [3]).head(0), "k", "other", WINDOWS, "n")
    assert counted.height == grid.height
    assert all(counted.get_column(f"n_{days}").sum() == 0 for days in WINDOWS)


def test_string_values_and_nulls_count_as_values() -> None:
    """Like ``n_unique`` of the one-day path: a null is one more distinct value."""
    grid = _grid([3, 8])
    presence = pl.DataFrame(
        {"k": [3, 3, 3, 8], "other": ["b", None, "a", None], w.DAY: [START] * 3 + [LAST]}
    )
    counted = w.distinct_counts(grid, presence, "k", "other", WINDOWS, "n")
    first = counted.filter(pl.col(w.DAY) == START)
    assert first.get_column("n_1").to_list() == [3, 0]
    assert counted.filter(pl.col(w.DAY) == LAST).get_column("n_30").to_list() == [0, 1]


def test_an_empty_grid_gets_empty_columns() -> None:
    empty = _grid([])
    counted = w.distinct_counts(empty, _presence(1, [1]).head(0), "k", "other", WINDOWS, "n")
    assert counted.height == 0 and counted.columns == ["k", w.DAY, "n_1", "n_7", "n_30"]


@pytest.mark.parametrize(
    ("presence", "message"),
    [
        (pl.DataFrame({"k": [5], "other": [1], w.DAY: [START]}), "not on the grid"),
        (pl.DataFrame({"k": [100], "other": [1], w.DAY: [START]}), "not on the grid"),
        (pl.DataFrame({"k": [1], "other": [1], w.DAY: [START]}), "not on the grid"),
        (pl.DataFrame({"k": [3], "other": [1], w.DAY: [LAST + dt.timedelta(days=1)]}), "grid"),
        (pl.DataFrame({"k": [3], "other": [1], w.DAY: [START - dt.timedelta(days=1)]}), "grid"),
    ],
)
def test_a_presence_off_the_grid_is_refused(presence: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        w.distinct_counts(_grid([3, 8]), presence, "k", "other", WINDOWS, "n")


def test_a_grid_that_is_not_dense_and_sorted_is_refused() -> None:
    grid = _grid([3, 8])
    presence = _presence(1, [3, 8])
    for broken in (grid.head(grid.height - 1), grid.reverse()):
        with pytest.raises(ValueError, match="dense grid sorted"):
            w.distinct_counts(broken, presence, "k", "other", WINDOWS, "n")


def _daily(seed: int, keys: list[int]) -> pl.DataFrame:
    presence = _presence(seed, keys, n=300)
    return presence.group_by("k", w.DAY).agg(
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("other").cast(pl.Int128).sum().alias("big"),
        pl.col("other").cast(pl.Float64).max().alias("top"),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_scatter_daily_equals_a_left_join_in_the_grid_order(seed: int) -> None:
    keys = [3, 8, 9, 20, 41]
    grid = _grid(keys)
    daily = _daily(seed, keys[:-1]).sample(fraction=1.0, shuffle=True, seed=seed)
    scattered = w.scatter_daily(grid, daily, "k")
    joined = grid.join(daily, on=["k", w.DAY], how="left", maintain_order="left")
    assert scattered.equals(joined)
    assert scattered.schema == joined.schema and scattered.get_column("n").null_count() > 0


def test_scatter_daily_refuses_a_repeated_day_and_rows_off_the_grid() -> None:
    grid = _grid([3, 8])
    daily = _daily(1, [3, 8])
    with pytest.raises(ValueError, match="more than once"):
        w.scatter_daily(grid, pl.concat([daily, daily.head(1)]), "k")
    off = daily.head(1).with_columns(pl.lit(5, pl.Int64).alias("k"))
    with pytest.raises(ValueError, match="not on the grid"):
        w.scatter_daily(grid, off, "k")
    with pytest.raises(ValueError, match="dense grid sorted"):
        w.scatter_daily(grid.reverse(), daily, "k")
    empty = w.scatter_daily(_grid([]), daily.head(0), "k")
    assert empty.height == 0 and empty.columns == ["k", w.DAY, "n", "big", "top"]


def test_dense_grid_is_sorted_by_key_then_day_whatever_the_entities_order() -> None:
    grid = w.dense_grid(pl.LazyFrame({"k": [9, 3, 9, 8]}), "k", START, START + dt.timedelta(2))
    assert grid.collect().rows() == [
        (k, START + dt.timedelta(days=d)) for k in (3, 8, 9) for d in range(3)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_window_sums_equal_polars_rolling_sums(seed: int) -> None:
    keys = [3, 8, 9, 20, 41]
    grid = w.scatter_daily(_grid(keys), _daily(seed, keys[:-1]), "k").with_columns(
        pl.col("n").fill_null(0)
    )
    windows = (1, 7, 30, 31, 60)  # 60: longer than the grid's 45 days
    sums = w.window_sums(grid, "k", "n", windows)
    expected = grid.select(w.window_sum("n", days, "k").alias(f"n_{days}") for days in windows)
    assert pl.DataFrame(sums).equals(expected)
    assert expected.get_column("n_60").max() > expected.get_column("n_7").max() > 0


def test_window_sums_refuse_nulls_floats_and_other_grids() -> None:
    grid = w.scatter_daily(_grid([3, 8]), _daily(1, [3, 8]), "k")
    with pytest.raises(ValueError, match="integer column without nulls"):
        w.window_sums(grid, "k", "n", (7,))  # nulls on quiet days
    with pytest.raises(ValueError, match="integer column without nulls"):
        w.window_sums(grid.with_columns(pl.col("top").fill_null(0)), "k", "top", (7,))
    filled = grid.with_columns(pl.col("n").fill_null(0))
    with pytest.raises(ValueError, match="dense grid sorted"):
        w.window_sums(filled.head(filled.height - 1), "k", "n", (7,))


def test_sparse_keys_and_values_take_the_binary_search_path_with_the_same_counts() -> None:
    """Ids too far apart for a lookup table, values too far apart for offsets."""
    keys = [3, 8, 10**12, 10**12 + 5]
    grid = _grid(keys)
    presence = _presence(4, keys).with_columns(pl.col("other") * 10**14)
    counted = w.distinct_counts(grid, presence, "k", "other", WINDOWS, "n")
    for days in WINDOWS:
        assert counted.get_column(f"n_{days}").to_list() == _brute_force(grid, presence, days)
    off = pl.DataFrame({"k": [10**12 + 1], "other": [1], w.DAY: [START]})
    with pytest.raises(ValueError, match="not on the grid"):
        w.distinct_counts(grid, off, "k", "other", WINDOWS, "n")


def _values(kind: str) -> pl.Series:
    text = [f"{kind}-{v}" if v else None for v in ("fuel", None, "travel", "fuel", "gaming")]
    return {
        "text": pl.Series(text),
        "categorical": pl.Series(text, dtype=pl.Categorical),
        "sparse-ints": pl.Series([7, None, 10**12, 7, -3]),  # ranked
        "dense-ints": pl.Series([5, 6, None, 5, 9]),  # offsets
        "all-null": pl.Series([None, None], dtype=pl.String),
    }[kind]


@pytest.mark.parametrize("kind", ["text", "categorical", "sparse-ints", "dense-ints", "all-null"])
def test_value_codes_are_equal_exactly_where_values_are(kind: str) -> None:
    # Other text interned first (and alive: Polars frees the ids of dropped categories), so
    # that this text's categorical ids are not 0 … n - 1.
    others = pl.Series([f"{kind}-other-{i}" for i in range(1_000)]).cast(pl.Categorical)
    values = _values(kind)
    codes, n_codes = w.value_codes(values)
    assert others.to_physical().max() is not None
    items = values.to_list()
    assert codes.shape == (len(items),)
    assert codes.min() >= 0 and codes.max() < n_codes
    for i, a in enumerate(items):
        for j, b in enumerate(items):
            assert (codes[i] == codes[j]) == (a == b), (a, b)
    if not values.dtype.is_integer():  # text: numbered densely, whatever its interned ids
        assert n_codes == values.n_unique()


def test_before_utc_hour_agrees_with_the_hour_of_the_day() -> None:
    rng = np.random.default_rng(3)
    seconds = rng.integers(-3 * 10**9, 3 * 10**9, 5_000)  # 1875 … 2065
    edges = [0, -1, 6 * 3600 - 1, 6 * 3600, 86_400 - 1, -86_400 + 6 * 3600]
    stamps = pl.Series("t", np.concatenate([seconds, edges]) * 1_000_000).cast(
        pl.Datetime("us", "UTC")
    )
    got = stamps.to_frame().select(w.before_utc_hour(pl.col("t"), 6)).to_series()
    assert got.to_list() == (stamps.dt.hour() < 6).to_list()
