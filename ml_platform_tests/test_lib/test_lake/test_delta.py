import datetime as dt

import polars as pl
import pytest

from ml_platform.lib.lake import predicates as p
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.lake.transaction import LakeTransaction

SCHEMA = pl.Schema({"event_date": pl.Date(), "v": pl.Int64()})


def _frame(day: int, *values: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"event_date": [dt.date(2026, 1, day)] * len(values), "v": list(values)}, schema=SCHEMA
    )


def _replace_day(tx: LakeTransaction, day: int, *values: int) -> None:
    start = dt.date(2026, 1, day)
    tx.replace(
        "t",
        _frame(day, *values),
        p.date_range("event_date", start, start + dt.timedelta(days=1)),
        SCHEMA,
        ["event_date"],
    )


def test_replacing_p1_p2_p1_keeps_both_without_duplicates(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    with LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 1, 2)
        _replace_day(tx, 2, 3)
        _replace_day(tx, 1, 4)
    result = lake.read("t").sort("v")
    assert result.to_dict(as_series=False) == {
        "event_date": [dt.date(2026, 1, 2), dt.date(2026, 1, 1)],
        "v": [3, 4],
    }


def test_rows_outside_the_predicate_are_rejected(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    with LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 1)
    with pytest.raises(Exception, match=r"(?i)predicate|validation|constraint"):
        lake.replace(
            "t",
            _frame(2, 9),
            p.date_range("event_date", dt.date(2026, 1, 1), dt.date(2026, 1, 2)),
            ["event_date"],
        )
    assert lake.read("t")["v"].to_list() == [1]


def test_a_failure_inside_a_transaction_restores_every_written_table(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    with LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 1)
        tx.replace("other", pl.DataFrame({"x": [1]}), None, pl.Schema({"x": pl.Int64()}))
    before = (lake.read("t"), lake.read("other"))

    with pytest.raises(RuntimeError, match="boom"), LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 99)
        tx.replace("other", pl.DataFrame({"x": [2, 3]}), None, pl.Schema({"x": pl.Int64()}))
        raise RuntimeError("boom")

    assert lake.read("t").equals(before[0])
    assert lake.read("other").equals(before[1])


def test_a_table_created_inside_a_failed_transaction_ends_empty(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    with pytest.raises(RuntimeError), LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 5)
        raise RuntimeError("boom")
    assert lake.read("t").height == 0


def test_invalid_table_names_are_refused(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    for name in ["../escape", "/abs", "Bronze/x", "a//b", "a/b/"]:
        with pytest.raises(ValueError, match="invalid table name"):
            lake.uri(name)


def test_time_travel_reads_an_older_version(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    with LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 1)
    first = lake.version("t")
    with LakeTransaction(lake) as tx:
        _replace_day(tx, 1, 2)
    assert lake.read("t", version=first)["v"].to_list() == [1]
    assert lake.read("t")["v"].to_list() == [2]


def test_partition_values_come_from_the_log_sorted(tmp_path) -> None:
    lake = DeltaLake(str(tmp_path))
    lake.ensure("t/t", SCHEMA, ["event_date"])
    assert lake.partition_values("t/t", "event_date") == []
    for day in (12, 3, 25):
        lake.append("t/t", _frame(day, day), ["event_date"])
    lake.replace(
        "t/t",
        _frame(25, 1),
        p.date_range("event_date", dt.date(2026, 1, 25), dt.date(2026, 1, 26)),
        ["event_date"],
    )
    assert lake.partition_values("t/t", "event_date") == ["2026-01-03", "2026-01-12", "2026-01-25"]
    with pytest.raises(KeyError):
        lake.partition_values("t/t", "v")
