"""Hostile strings never reach a Delta predicate or a table path.

delta-rs takes a predicate as SQL text with no binding: ``dt = 'x' OR '1'='1'`` overwrote a
whole table (FINDINGS.md). Every predicate is built by ``lib/lake/predicates.py`` from typed
values or allowlisted names, every table name is checked by ``DeltaLake.uri``, and a
partition key only reaches a predicate as a parsed date.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.staging.assets import silver_transactions
from ml_platform.lib.lake import predicates as p
from ml_platform.lib.lake.delta import DeltaLake

pytestmark = pytest.mark.reliability

HOSTILE = [
    "2026-01-01' OR '1'='1",
    "x; DROP TABLE t",
    "x'; DELETE FROM t; --",
    "a'b",
    'a"b',
    "event_date\n",  # `$` in a regex matches before a final newline: fullmatch must be used
    "2026-01-01\nOR 1=1",
    "x\r\n",
    "x\x00y",
    "x OR 1=1",
    "1 OR 1=1",
    "../../etc/passwd",
    " ",
    "",
]
TODAY = dt.date(2026, 1, 2)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_predicate_builder_refuses_hostile_strings(hostile: str) -> None:
    builders = {
        "column": lambda: p.column(hostile),
        "text_equals value": lambda: p.text_equals("source", hostile),
        "text_equals column": lambda: p.text_equals(hostile, "transactions"),
        "date_literal": lambda: p.date_literal(hostile),  # type: ignore[arg-type]
        "date_range start": lambda: p.date_range("event_date", hostile, TODAY),  # type: ignore[arg-type]
        "date_range column": lambda: p.date_range(hostile, TODAY, TODAY + dt.timedelta(1)),
        "date_in value": lambda: p.date_in("event_date", [TODAY, hostile]),  # type: ignore[list-item]
        "date_in column": lambda: p.date_in(hostile, [TODAY]),
        "int_in value": lambda: p.int_in("source_file_id", [1, hostile]),  # type: ignore[list-item]
        "int_in column": lambda: p.int_in(hostile, [1]),
    }
    accepted = []
    for name, build in builders.items():
        try:
            predicate = build()
        except ValueError as error:
            assert str(error), name  # a clear message, never an empty one
            continue
        accepted.append((name, predicate))
    assert accepted == []


@pytest.mark.parametrize("hostile", [*HOSTILE, "bronze/x; DROP TABLE t", "bronze/../../x"])
def test_hostile_table_names_are_refused(tmp_path: Path, hostile: str) -> None:
    lake = DeltaLake(str(tmp_path))
    with pytest.raises(ValueError, match="invalid table name"):
        lake.uri(hostile)


def test_a_hostile_partition_key_never_overwrites_other_partitions(
    lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    table = "silver/transactions"
    existing = pl.DataFrame(
        {"event_date": [dt.date(2026, 1, 1), dt.date(2026, 1, 2)], "transaction_id": ["a", "b"]}
    )
    lake.replace(table, existing, None, ["event_date"])
    version = lake.version(table)

    for key in ["2026-01-01' OR '1'='1", "2026-01-01; DROP TABLE t", "2026-01-01\n"]:
        with pytest.raises(dg.DagsterUnknownPartitionError, match="Could not find a partition"):
            dg.materialize(
                [silver_transactions],
                resources={"platform": platform},
                partition_key=key,
                instance=instance,
            )
    assert lake.version(table) == version
    assert lake.read(table).sort("event_date").equals(existing)


def test_a_replace_outside_its_validated_predicate_is_refused(lake: DeltaLake) -> None:
    """Even a caller's bug (rows of another day) cannot leak outside the partition."""
    table = "silver/t"
    existing = pl.DataFrame({"event_date": [dt.date(2026, 1, 1), TODAY], "v": [1, 2]})
    lake.replace(table, existing, None, ["event_date"])
    other_day = pl.DataFrame({"event_date": [dt.date(2026, 1, 1)], "v": [9]})
    with pytest.raises(Exception, match=r"(?i)validation|predicate|constraint"):
        lake.replace(table, other_day, p.date_range("event_date", TODAY, TODAY + dt.timedelta(1)))
    assert lake.read(table).sort("event_date").equals(existing)
