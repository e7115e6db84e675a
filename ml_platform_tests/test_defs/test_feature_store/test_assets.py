"""The online store asset's sample lookup picks entities of the newest day."""

import datetime as dt

import polars as pl

from ml_platform.defs.feature_store.assets import _latest_ids
from ml_platform.lib.lake.delta import DeltaLake

DAY = dt.date(2026, 3, 1)


def _day(offset: int, ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"feature_date": [DAY + dt.timedelta(days=offset)] * len(ids), "customer_id": ids}
    )


def test_latest_ids_are_the_first_entities_of_the_newest_partition(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    assert _latest_ids(lake, "features/t", "customer_id") == []  # no table yet
    lake.append("features/t", _day(0, [1, 2, 3, 4]), ["feature_date"])
    lake.append("features/t", _day(2, [9, 7, 8, 5]), ["feature_date"])
    lake.append("features/t", _day(1, [6]), ["feature_date"])  # written last, not newest
    assert _latest_ids(lake, "features/t", "customer_id") == [5, 7, 8]
    assert _latest_ids(lake, "features/t", "customer_id", count=1) == [5]
