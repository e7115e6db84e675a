"""Window aggregates of one day by row position equal plain filtered aggregations."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.features import day_windows
from ml_platform.lib.features.day_windows import DayRows, fits_int64

DAY = dt.date(2026, 3, 31)
WINDOWS = (1, 7, 30, 31)


def _rows(seed: int = 0, n: int = 5_000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "key": rng.choice([3, 4, 9, 20, 21, 500], n),
            "day": [DAY - dt.timedelta(days=int(a)) for a in rng.integers(0, 31, n)],
            "value": rng.integers(-1_000, 1_000, n),
            "amount": np.round(rng.lognormal(3, 1, n), 2),
            "other": rng.integers(0, 40, n),
        }
    )


def _expected(rows: pl.DataFrame, keys: list[int], days: int) -> pl.DataFrame:
    inside = rows.filter(pl.col("day") > DAY - dt.timedelta(days=days))
    per_key = inside.group_by("key").agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("value").sum().alias("sum"),
        pl.col("amount").max().alias("max"),
        pl.col("other").n_unique().cast(pl.Int64).alias("distinct"),
    )
    return (
        pl.DataFrame({"key": keys})
        .join(per_key, on="key", how="left")
        .with_columns(pl.col("count", "sum", "distinct").fill_null(0))
    )


@pytest.mark.parametrize("dense_limit", [day_windows.DENSE_DISTINCT_CELLS, 0])
def test_every_aggregate_equals_filtered_aggregations(
    dense_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(day_windows, "DENSE_DISTINCT_CELLS", dense_limit)  # table or sort
    rows = _rows()
    keys = [1, 3, 4, 9, 20, 21, 500]  # key 1 has no row
    placed = DayRows.place(pl.Series(keys), rows["key"], rows["day"], DAY, WINDOWS)
    counts = placed.counts(WINDOWS)
    sums = placed.sums(rows["value"].to_numpy(), WINDOWS)
    maxima = placed.maxima(rows["amount"].to_numpy(), WINDOWS)
    distinct = placed.distinct(rows["other"].to_numpy(), 40, WINDOWS)
    for i, days in enumerate(WINDOWS):
        expected = _expected(rows, keys, days)
        assert counts[i].tolist() == expected["count"].to_list()
        assert sums[i].tolist() == expected["sum"].to_list()
        assert distinct[i].tolist() == expected["distinct"].to_list()
        got = [None if m == -np.inf else m for m in maxima[i]]
        assert got == expected["max"].to_list()
    assert counts[0][0] == 0 and counts[-1].sum() == rows.height


def test_windows_are_picked_in_the_order_asked() -> None:
    rows = _rows(1)
    placed = DayRows.place(
        pl.Series([3, 4, 9, 20, 21, 500]), rows["key"], rows["day"], DAY, (30, 7, 1, 31)
    )
    assert placed.windows == (1, 7, 30, 31)
    seven, one = placed.counts((7, 1))
    assert (seven >= one).all() and seven.sum() > one.sum() > 0
    with pytest.raises(ValueError, match="not placed"):
        placed.counts((14,))


def test_integer_maxima_of_an_empty_window_are_the_dtype_minimum() -> None:
    rows = pl.DataFrame({"key": [5], "day": [DAY - dt.timedelta(days=3)], "ts": [17]})
    placed = DayRows.place(pl.Series([5, 6]), rows["key"], rows["day"], DAY, (1, 7))
    one, seven = placed.maxima(rows["ts"].to_numpy(), (1, 7))
    floor = np.iinfo(np.int64).min
    assert one.tolist() == [floor, floor] and seven.tolist() == [17, floor]


def test_rows_off_the_matrix_are_refused() -> None:
    keys = pl.Series([1, 2])
    day = pl.Series([DAY])
    with pytest.raises(ValueError, match="sorted, distinct"):
        DayRows.place(pl.Series([2, 1]), pl.Series([1]), day, DAY, (7,))
    with pytest.raises(ValueError, match="not a snapshot key"):
        DayRows.place(keys, pl.Series([3]), day, DAY, (7,))
    with pytest.raises(ValueError, match="not in the 7 days"):
        DayRows.place(keys, pl.Series([1]), pl.Series([DAY - dt.timedelta(days=7)]), DAY, (7,))
    with pytest.raises(ValueError, match="not in the 7 days"):
        DayRows.place(keys, pl.Series([1]), pl.Series([DAY + dt.timedelta(days=1)]), DAY, (7,))
    with pytest.raises(ValueError, match="at least one day"):
        DayRows.place(keys, pl.Series([1]), day, DAY, (0, 7))


def test_distinct_refuses_codes_past_62_bits() -> None:
    placed = DayRows.place(pl.Series([1, 2]), pl.Series([1]), pl.Series([DAY]), DAY, (7,))
    with pytest.raises(ValueError, match="codes"):
        placed.distinct(np.array([0]), 1 << 62, (7,))


def test_fits_int64_bounds_every_sum() -> None:
    big = np.array([3_000_000_000_000_000_000, -5])
    assert fits_int64(big, np.array([3, 1]))
    assert not fits_int64(big, np.array([4, 1]))
    assert not fits_int64(np.array([-3_000_000_000_000_000_000]), np.array([4]))
    assert fits_int64(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
