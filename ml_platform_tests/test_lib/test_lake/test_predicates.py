import datetime as dt

import polars as pl
import pytest

from ml_platform.lib.lake import predicates as p
from ml_platform.lib.lake.delta import DeltaLake


def test_date_range_quotes_iso_dates() -> None:
    assert p.date_range("event_date", dt.date(2026, 1, 1), dt.date(2026, 1, 3)) == (
        "event_date >= '2026-01-01' AND event_date < '2026-01-03'"
    )


@pytest.mark.parametrize(
    "hostile",
    ["x' OR '1'='1", "2026-01-01'; DROP TABLE t; --", "a b", "", "é"],
)
def test_text_values_that_could_inject_are_refused(hostile: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        p.text_equals("source", hostile)


@pytest.mark.parametrize("name", ["event_date OR 1=1", "Event", "a-b", "1abc", "x;y"])
def test_column_names_are_allowlisted(name: str) -> None:
    with pytest.raises(ValueError, match="column"):
        p.column(name)


@pytest.mark.parametrize("value", ["1 OR 1=1", 1.5, True, None])
def test_int_in_accepts_only_ints(value: object) -> None:
    with pytest.raises(ValueError):
        p.int_in("source_file_id", [1, value])  # type: ignore[list-item]


def test_date_literal_rejects_strings_and_datetimes() -> None:
    with pytest.raises(ValueError):
        p.date_literal("2026-01-01' OR '1'='1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        p.date_literal(dt.datetime(2026, 1, 1))


def test_hostile_partition_value_cannot_wipe_a_table(tmp_path) -> None:
    """The FINDINGS case: a predicate built from a raw string overwrote the whole table."""
    lake = DeltaLake(str(tmp_path))
    frame = pl.DataFrame({"dt": ["2026-01-01", "2026-01-02"], "v": [1, 2]})
    lake.replace("t", frame, None, ["dt"])
    with pytest.raises(ValueError):
        p.text_equals("dt", "x' OR '1'='1")
    assert lake.read("t").height == 2
