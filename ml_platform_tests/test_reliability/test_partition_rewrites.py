"""P1, then P2, then P1 again through the real silver asset: both kept, nothing duplicated.

An official IO manager silently overwrote whole tables in this sequence (FINDINGS.md); the
platform's writes replace exactly the partition window with a Delta predicate.
"""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.defs.ingestion.assets import bronze_assets
from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.staging.assets import silver_transactions
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing

pytestmark = pytest.mark.reliability

[BRONZE] = [a for a in bronze_assets if a.key == dg.AssetKey(["bronze", "transactions"])]
P1, P2 = "2026-01-02", "2026-01-03"


def _materialize(platform: PlatformResource, instance: dg.DagsterInstance, key: str) -> None:
    result = dg.materialize(
        [BRONZE, silver_transactions],
        resources={"platform": platform},
        partition_key=key,
        instance=instance,
    )
    assert result.success


def _silver(lake: DeltaLake) -> pl.DataFrame:
    return lake.read("silver/transactions").sort("transaction_id")


def test_p1_p2_p1_keeps_both_partitions_without_duplicates(
    landing: Path, lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    day1 = [tx_row(f"d1-{i}", when=f"{P1}T1{i}:00:00Z") for i in range(3)]
    day2 = [tx_row(f"d2-{i}", when=f"{P2}T1{i}:00:00Z") for i in range(2)]
    write_landing(landing, "transactions/day1.csv", "\n".join([TX_HEADER, *day1]) + "\n")
    write_landing(landing, "transactions/day2.csv", "\n".join([TX_HEADER, *day2]) + "\n")

    _materialize(platform, instance, P1)
    assert _silver(lake)["transaction_id"].to_list() == ["d1-0", "d1-1", "d1-2"]
    _materialize(platform, instance, P2)
    both = _silver(lake)
    assert both.height == 5

    # A correction of day 1 lands, and P1 is materialized again.
    fix = tx_row("d1-1", when=f"{P1}T11:00:00Z", amount="99.00")
    write_landing(landing, "transactions/day1-fix.csv", f"{TX_HEADER}\n{fix}\n")
    _materialize(platform, instance, P1)

    after = _silver(lake)
    assert after["transaction_id"].to_list() == both["transaction_id"].to_list()
    assert after["transaction_id"].is_unique().all()
    assert after.group_by("event_date").len().sort("event_date")["len"].to_list() == [3, 2]
    assert after.filter(pl.col("transaction_id") == "d1-1")["amount"].to_list() == [99.0]
    # Day 2 was not rewritten by the P1 run: same rows, same values.
    assert after.filter(pl.col("event_date") == both["event_date"].max()).equals(
        both.filter(pl.col("event_date") == both["event_date"].max())
    )

    # Materializing P1 once more with nothing new changes nothing.
    _materialize(platform, instance, P1)
    assert _silver(lake).equals(after)
