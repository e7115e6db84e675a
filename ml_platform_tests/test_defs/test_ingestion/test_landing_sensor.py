"""The landing sensor against a real temp landing folder, lake and instance."""

import json
import os
from pathlib import Path

import dagster as dg

from ml_platform.defs.ingestion.sensors import landing_sensor
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.sources import TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing


def _tick(instance: dg.DagsterInstance, platform: PlatformResource, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"platform": platform}
    )
    result = landing_sensor(context)
    return result, context


def test_cursor_transitions(
    landing: Path, lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    # tick 1: nothing landed
    result, _ = _tick(instance, platform, None)
    assert result.run_requests == [] and result.skip_reason is not None

    # tick 2: one file spanning two days, one still being written, one chargeback file
    path = write_landing(
        landing,
        "transactions/day.csv",
        f"{TX_HEADER}\n{tx_row('a', when='2026-01-02T10:00:00Z')}\n"
        f"{tx_row('b', when='2026-01-03T10:00:00Z')}\n",
    )
    write_landing(landing, "transactions/partial.csv", TX_HEADER, age_seconds=0)
    write_landing(
        landing, "chargebacks/cb.csv", "transaction_id,reported_at\na,2026-01-05T00:00:00Z\n"
    )
    result, _ = _tick(instance, platform, None)
    requests = {r.tags["ml_platform/source"]: r for r in result.run_requests}
    assert set(requests) == {"transactions", "chargebacks"}
    tx = requests["transactions"]
    assert tx.tags["dagster/asset_partition_range_start"] == "2026-01-02"
    assert tx.tags["dagster/asset_partition_range_end"] == "2026-01-03"
    assert {k.to_user_string() for k in tx.asset_selection} == {
        "bronze/transactions",
        "silver/transactions",
    }
    assert "dagster/asset_partition_range_start" not in requests["chargebacks"].tags
    cursor = result.cursor
    assert set(json.loads(cursor)) == {"transactions/day.csv", "chargebacks/cb.csv"}
    observed = {e.asset_key.to_user_string() for e in result.asset_events}
    assert observed == {"landing/transactions", "landing/chargebacks"}

    # tick 3: same files, runs not finished yet -> nothing new, cursor kept
    result, _ = _tick(instance, platform, cursor)
    assert result.run_requests == []
    assert json.loads(result.cursor) == json.loads(cursor)

    # the runs complete: the ledger records the files -> the cursor forgets them
    ingest_source(lake, landing, TRANSACTIONS, "run-1")
    result, _ = _tick(instance, platform, cursor)
    assert result.run_requests == []
    assert set(json.loads(result.cursor)) == {"chargebacks/cb.csv"}

    # tick 5: the transactions file is corrected -> a new run with a new key
    path.write_text(f"{TX_HEADER}\n{tx_row('a', amount='1.00', when='2026-01-02T10:00:00Z')}\n")
    stamp = path.stat().st_mtime - 600
    os.utime(path, (stamp, stamp))
    result, _ = _tick(instance, platform, result.cursor)
    [corrected] = result.run_requests
    assert corrected.run_key != tx.run_key
    assert corrected.tags["dagster/asset_partition_range_end"] == "2026-01-02"


def test_run_keys_survive_a_restarted_daemon(
    landing: Path, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    """With its cursor lost, the sensor requests the same run keys: Dagster dedupes them."""
    write_landing(landing, "transactions/day.csv", f"{TX_HEADER}\n{tx_row('a')}\n")
    first, _ = _tick(instance, platform, None)
    again, _ = _tick(instance, platform, None)
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in again.run_requests]
