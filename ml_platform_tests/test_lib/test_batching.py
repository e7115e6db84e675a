"""Batches of whole days with bounded rows."""

import datetime as dt
import itertools
import random

import pytest

from ml_platform.lib.batching import day_batches, key_ranges

D = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def test_days_are_grouped_while_the_rows_fit() -> None:
    rows = {day(0): 40, day(1): 40, day(2): 30, day(3): 90, day(4): 10}
    assert day_batches(rows, day(0), day(5), 100) == [
        (day(0), day(2)),  # 40 + 40; + 30 would be 110
        (day(2), day(3)),  # 30; + 90 would be 120
        (day(3), day(5)),  # 90 + 10
    ]


def test_a_day_larger_than_the_limit_is_a_batch_of_its_own() -> None:
    rows = {day(0): 5, day(1): 500, day(2): 5}
    assert day_batches(rows, day(0), day(3), 100) == [
        (day(0), day(1)),
        (day(1), day(2)),
        (day(2), day(3)),
    ]


def test_days_without_rows_stay_inside_the_batches() -> None:
    rows = {day(2): 60, day(6): 60}
    assert day_batches(rows, day(0), day(9), 100) == [(day(0), day(6)), (day(6), day(9))]
    assert day_batches({}, day(0), day(9), 100) == [(day(0), day(9))]
    assert day_batches(rows, day(3), day(3), 100) == []


def test_random_histories_are_covered_exactly_bounded_and_cut_only_when_needed() -> None:
    generator = random.Random(3)
    for _ in range(300):
        length = generator.randint(1, 60)
        rows = {day(i): generator.choice([0, 0, 1, 7, 50, 400]) for i in range(length)}
        limit = generator.randint(1, 600)
        batches = day_batches(rows, day(0), day(length), limit)
        assert batches[0][0] == day(0) and batches[-1][1] == day(length)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(batches))
        counts = [[rows[d] for d in _days(first, last)] for first, last in batches]
        for batch in counts:
            # Within the limit, or one day (with rows) too large for any batch.
            assert sum(batch) <= limit or sum(1 for n in batch if n) == 1
        for batch, following in itertools.pairwise(counts):
            assert sum(batch) + following[0] > limit  # a cut only where the next day won't fit


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days)]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        day_batches({}, day(0), day(1), 0)


def test_key_ranges_cover_every_integer_with_bounded_keys() -> None:
    keys = [3, 8, 9, 15, 40, 41, 42]
    ranges = key_ranges(keys, 3)
    assert ranges == [(None, 15), (15, 42), (42, None)]
    assert key_ranges(keys, 2) == [(None, 9), (9, 40), (40, 42), (42, None)]
    assert key_ranges(keys, 7) == [(None, None)]
    assert key_ranges([], 5) == [(None, None)]
    for per_range in range(1, 9):
        ranges = key_ranges(keys, per_range)
        for key in [*keys, -(10**12), 0, 10, 10**12]:  # known keys and any other integer
            assert sum(_inside(key, low, high) for low, high in ranges) == 1
        for low, high in ranges:
            assert sum(_inside(key, low, high) for key in keys) <= per_range
    with pytest.raises(ValueError, match="at least 1"):
        key_ranges(keys, 0)


def _inside(key: int, low: int | None, high: int | None) -> bool:
    return (low is None or key >= low) and (high is None or key < high)
