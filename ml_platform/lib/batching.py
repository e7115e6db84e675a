"""Splitting a date range into batches of whole days with a bounded number of rows.

Steps that could meet the whole history at once (a backfill runs every partition in one run)
work through it a batch at a time, so their memory follows the batch size, not the history.
"""

import datetime as dt
from collections.abc import Mapping, Sequence

_DAY = dt.timedelta(days=1)


def day_batches(
    rows_per_day: Mapping[dt.date, int], start: dt.date, end: dt.date, max_rows: int
) -> list[tuple[dt.date, dt.date]]:
    """Contiguous ``[first, last)`` ranges covering ``[start, end)``, each of whole days.

    Consecutive days go into one batch while its rows stay at most ``max_rows``; a day with more
    rows than that is a batch of its own. Days without rows join the batch they fall in, so the
    batches cover every day of the range (a write replacing each batch's range also clears the
    days that no longer have rows). An empty range gives no batch.

    Args:
        rows_per_day: Rows of each day (a missing day has none).
        start: First day.
        end: Day after the last one.
        max_rows: Most rows of a batch of several days (at least 1).

    Raises:
        ValueError: If ``max_rows`` is below 1.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    batches: list[tuple[dt.date, dt.date]] = []
    first, rows, day = start, 0, start
    while day < end:
        count = rows_per_day.get(day, 0)
        if rows and rows + count > max_rows:
            batches.append((first, day))
            first, rows = day, 0
        rows += count
        day += _DAY
    if first < end:
        batches.append((first, end))
    return batches


def key_ranges(keys: Sequence[int], per_range: int) -> list[tuple[int | None, int | None]]:
    """Contiguous ``[low, high)`` ranges of the integers, each holding at most ``per_range`` keys.

    The first range is open below (``low`` is ``None``) and the last open above (``high`` is
    ``None``), so together they cover every integer: a key that is not in ``keys`` still falls in
    exactly one range (a write replacing each range's rows misses none).

    Args:
        keys: Sorted distinct keys.
        per_range: Most keys of a range (at least 1).

    Raises:
        ValueError: If ``per_range`` is below 1.
    """
    if per_range < 1:
        raise ValueError(f"per_range must be at least 1, got {per_range}")
    bounds: list[int | None] = list(keys[per_range::per_range])
    return list(zip([None, *bounds], [*bounds, None], strict=True))
