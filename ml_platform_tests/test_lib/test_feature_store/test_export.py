import datetime as dt
import random

import polars as pl
import pytest

from ml_platform.lib.feature_store import export as export_module
from ml_platform.lib.feature_store.export import day_file, export_days, exported_days
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_DATE
from ml_platform_tests.test_lib.test_feature_store.snapshots import snapshot_rows, write_snapshots

D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)


@pytest.fixture
def snapshots(lake):
    rng = random.Random(0)
    frame = pl.concat(
        [
            snapshot_rows(CUSTOMER_DAILY, [3, 1, 2], D1, rng),
            snapshot_rows(CUSTOMER_DAILY, [1], D2, rng),
        ]
    )
    write_snapshots(lake, CUSTOMER_DAILY, frame)
    return frame


def test_one_file_per_day_with_exactly_that_days_rows(lake, tmp_path, snapshots):
    written = export_days(lake, CUSTOMER_DAILY, [D2, D1], tmp_path)
    assert written == [day_file(tmp_path, CUSTOMER_DAILY, d) for d in (D1, D2)]
    assert written[0] == tmp_path / "customer_daily" / "2026-01-01.parquet"
    for path, day in zip(written, (D1, D2), strict=True):
        got = pl.read_parquet(path)
        assert got.schema == CUSTOMER_DAILY.schema
        expected = snapshots.filter(pl.col(FEATURE_DATE) == day).sort("customer_id")
        assert got.equals(expected)
    assert exported_days(tmp_path, CUSTOMER_DAILY) == [D1, D2]
    # only the final files: no temporary file is left behind
    assert sorted(p.name for p in (tmp_path / "customer_daily").iterdir()) == [
        "2026-01-01.parquet",
        "2026-01-02.parquet",
    ]


def test_reexport_replaces_and_an_empty_day_removes_its_file(lake, tmp_path, snapshots):
    export_days(lake, CUSTOMER_DAILY, [D1, D2], tmp_path)
    replacement = snapshot_rows(CUSTOMER_DAILY, [7], D1, random.Random(1))
    lake.replace(CUSTOMER_DAILY.name, replacement, f"{FEATURE_DATE} = '{D1}'", [FEATURE_DATE])
    lake.replace(
        CUSTOMER_DAILY.name,
        pl.DataFrame(schema=CUSTOMER_DAILY.schema),
        f"{FEATURE_DATE} = '{D2}'",
        [FEATURE_DATE],
    )
    assert export_days(lake, CUSTOMER_DAILY, [D1, D2, D3], tmp_path) == [
        day_file(tmp_path, CUSTOMER_DAILY, D1)
    ]
    assert pl.read_parquet(day_file(tmp_path, CUSTOMER_DAILY, D1)).equals(replacement)
    assert not day_file(tmp_path, CUSTOMER_DAILY, D2).exists()
    assert exported_days(tmp_path, CUSTOMER_DAILY) == [D1]


def test_temporary_and_foreign_files_are_not_exported_days(tmp_path):
    folder = tmp_path / "customer_daily"
    folder.mkdir()
    (folder / ".2026-01-01.parquet.abc.tmp").write_bytes(b"partial")
    (folder / "notes.parquet").write_bytes(b"")
    assert exported_days(tmp_path, CUSTOMER_DAILY) == []


def test_days_must_be_dates(lake, tmp_path, snapshots):
    with pytest.raises(TypeError):
        export_days(lake, CUSTOMER_DAILY, [dt.datetime(2026, 1, 1)], tmp_path)


def test_a_table_with_other_columns_is_refused(lake, tmp_path):
    wrong = snapshot_rows(CUSTOMER_DAILY, [1], D1, random.Random(0)).drop("home_country")
    lake.replace(CUSTOMER_DAILY.name, wrong, None, [FEATURE_DATE])
    with pytest.raises(ValueError, match="home_country"):
        export_days(lake, CUSTOMER_DAILY, [D1], tmp_path)


def test_a_long_range_is_exported_a_few_days_at_a_time(lake, tmp_path, monkeypatch):
    rng = random.Random(1)
    days = [D1 + dt.timedelta(days=i) for i in range(9)]
    frame = pl.concat(
        [snapshot_rows(CUSTOMER_DAILY, rng.sample(range(1, 40), 5), day, rng) for day in days]
    )
    write_snapshots(lake, CUSTOMER_DAILY, frame)
    scans = []
    real_scan = lake.scan

    def counted_scan(*args, **kwargs):
        scans.append(args)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(export_module, "EXPORT_BATCH_DAYS", 4)
    monkeypatch.setattr(lake, "scan", counted_scan)
    gone = D1 + dt.timedelta(days=20)  # a day without rows: its stale file is removed
    day_file(tmp_path, CUSTOMER_DAILY, gone).parent.mkdir(parents=True)
    frame.head(1).write_parquet(day_file(tmp_path, CUSTOMER_DAILY, gone))
    written = export_days(lake, CUSTOMER_DAILY, [*reversed(days), gone], tmp_path)
    assert len(scans) == 3  # 10 days, 4 at a time
    assert written == [day_file(tmp_path, CUSTOMER_DAILY, d) for d in days]
    for path, day in zip(written, days, strict=True):
        expected = frame.filter(pl.col(FEATURE_DATE) == day).sort("customer_id")
        assert pl.read_parquet(path).equals(expected)
    assert exported_days(tmp_path, CUSTOMER_DAILY) == days
