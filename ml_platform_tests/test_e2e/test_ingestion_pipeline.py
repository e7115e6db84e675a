"""End to end on tiny simulated data: landing → bronze → silver through real Dagster runs."""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.definitions import build_definitions
from ml_platform.defs.staging import assets as staging_assets
from ml_platform.lib.ingestion.reconcile import reconcile
from ml_platform.lib.ingestion.sources import SOURCES
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.runner import run_ingestion
from ml_platform.settings import Settings
from ml_platform_tests.conftest import TX_HEADER, simulate_landed, tx_row, write_landing

pytestmark = pytest.mark.e2e

CONFIG = SimulationConfig(days=6, customers=300, merchants=60, seed=7)


@pytest.fixture
def simulated(settings: Settings) -> Settings:
    simulate_landed(CONFIG, settings)
    return settings


def _materializations(instance: dg.DagsterInstance, key: str) -> set[str]:
    asset_key = dg.AssetKey.from_user_string(key)
    return set(instance.get_materialized_partitions(asset_key))


def test_landing_to_silver(simulated: Settings, instance: dg.DagsterInstance) -> None:
    outcomes = run_ingestion(simulated, instance)
    assert outcomes and all(o.success for o in outcomes)
    # one single-run backfill for all six days, not one run per day
    assert [o.partitions for o in outcomes if o.source == "transactions"] == [
        "2026-01-01…2026-01-06"
    ]
    lake = DeltaLake(simulated.lake_uri)
    truth = pl.read_parquet(Path(simulated.ground_truth_dir) / "transactions_truth.parquet")
    silver = lake.read("silver/transactions")
    assert silver.height == truth.height
    assert silver["transaction_id"].n_unique() == silver.height
    assert silver["event_date"].min() == CONFIG.start
    assert lake.read("silver/labels").height > 0
    assert (
        lake.read("silver/customers")["customer_id"].n_unique()
        == lake.read("silver/customers").height
    )
    for source in SOURCES.values():
        assert reconcile(lake, source).passed, source.name
    days = {(CONFIG.start + dt.timedelta(days=i)).isoformat() for i in range(CONFIG.days)}
    assert _materializations(instance, "silver/transactions") == days
    assert _materializations(instance, "bronze/transactions") == days

    # re-running with nothing new launches nothing and changes nothing
    versions = {t: lake.version(t) for t in ("bronze/transactions", "silver/transactions")}
    assert run_ingestion(simulated, instance) == []
    assert {t: lake.version(t) for t in versions} == versions


def test_late_and_corrected_files_update_their_days(
    simulated: Settings, instance: dg.DagsterInstance
) -> None:
    run_ingestion(simulated, instance)
    lake = DeltaLake(simulated.lake_uri)
    before = lake.read("silver/transactions")
    landing = Path(simulated.landing_dir)
    victim = before.filter(pl.col("event_date") == dt.date(2026, 1, 2)).row(0, named=True)
    stamp = victim["event_timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
    write_landing(
        landing,
        "transactions/corrections/fix 1.csv",
        f"{TX_HEADER}\n"
        f"{victim['transaction_id']},{victim['customer_id']},{victim['merchant_id']},1.23,"
        f"{victim['merchant_category']},{victim['channel']},{victim['country']},{stamp}\n"
        f"{tx_row('late-1', when='2026-01-03T12:00:00Z')}\n"
        f"{tx_row('bad-1', amount='-1', when='2026-01-03T12:00:00Z')}\n",
    )
    outcome, labels = run_ingestion(simulated, instance)  # transactions changed: labels follow
    assert outcome.success and outcome.partitions == "2026-01-02…2026-01-03"
    assert (labels.source, labels.success) == ("labels", True)

    after = lake.read("silver/transactions")
    assert after.height == before.height + 1  # the correction replaced, the late row added
    fixed = after.filter(pl.col("transaction_id") == victim["transaction_id"])
    assert fixed["amount"].to_list() == [1.23]
    assert after.filter(pl.col("transaction_id") == "bad-1").height == 0
    quarantine = lake.read("bronze/quarantine").filter(pl.col("source_row").is_not_null())
    assert quarantine.filter(pl.col("reason").str.contains("amount: must be > 0")).height >= 1
    assert reconcile(lake, SOURCES["transactions"]).passed


def test_a_silver_frame_that_fails_validation_is_never_written(
    simulated: Settings, instance: dg.DagsterInstance
) -> None:
    run_ingestion(simulated, instance)
    lake = DeltaLake(simulated.lake_uri)
    silver_before = lake.read("silver/transactions")
    # corrupt bronze behind the pipeline's back: a negative amount on Jan 2
    bronze = lake.read("bronze/transactions")
    day = bronze.filter(pl.col("event_date") == dt.date(2026, 1, 2))
    corrupted = day.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(-5.0).otherwise(pl.col("amount")).alias("amount")
    )
    lake.replace("bronze/transactions", corrupted, "event_date = '2026-01-02'", ["event_date"])

    job = build_definitions(simulated).resolve_job_def("ingestion_job")
    result = job.execute_in_process(
        instance=instance,
        partition_key="2026-01-02",
        asset_selection=[dg.AssetKey(["silver", "transactions"])],
        raise_on_error=False,
    )
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "amount: greater_than(0)" in evaluation.metadata["summary"].value
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert (
        "silver/transactions not written" in failure.step_failure_data.user_failure_data.description
    )
    assert lake.read("silver/transactions").equals(silver_before)


def test_silver_in_batches_of_days_equals_one_batch_and_is_all_or_nothing(
    simulated: Settings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingestion(simulated, instance)
    lake = DeltaLake(simulated.lake_uri)
    whole = lake.read("silver/transactions").sort("transaction_id")
    key = dg.AssetKey(["silver", "transactions"])
    job = build_definitions(simulated).resolve_job_def("ingestion_job")
    window = dg.PartitionKeyRange("2026-01-01", "2026-01-06")

    def rebuild_silver() -> dg.ExecuteInProcessResult:
        return job.execute_in_process(
            instance=instance,
            asset_selection=[key],
            tags={
                "dagster/asset_partition_range_start": window.start,
                "dagster/asset_partition_range_end": window.end,
            },
            raise_on_error=False,
        )

    # About two days per batch: the same rows, written batch by batch.
    per_day = whole.group_by("event_date").len()["len"]
    monkeypatch.setattr(staging_assets, "SILVER_BATCH_ROWS", 2 * int(per_day.max()))
    assert rebuild_silver().success
    metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
    assert metadata["batches"].value == 3
    assert lake.read("silver/transactions").sort("transaction_id").equals(whole)

    # Day 5 corrupted in bronze: its batch is refused and the two written before are undone.
    bronze = lake.read("bronze/transactions")
    day = bronze.filter(pl.col("event_date") == dt.date(2026, 1, 5))
    corrupted = day.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(-5.0).otherwise(pl.col("amount")).alias("amount")
    )
    lake.replace("bronze/transactions", corrupted, "event_date = '2026-01-05'", ["event_date"])
    lake.replace("silver/transactions", whole.head(0), None, ["event_date"])  # silver emptied
    version = lake.version("silver/transactions")
    result = rebuild_silver()
    assert not result.success
    description = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ).step_failure_data.user_failure_data.description
    assert "batch 3; the 2 before it were rolled back" in description
    assert lake.version("silver/transactions") > version  # batches 1 and 2 were written ...
    assert lake.read("silver/transactions").height == 0  # ... and rolled back


def test_a_chargeback_landed_before_its_transaction_gets_its_context(
    simulated: Settings, instance: dg.DagsterInstance
) -> None:
    run_ingestion(simulated, instance)
    lake = DeltaLake(simulated.lake_uri)
    landing = Path(simulated.landing_dir)
    write_landing(
        landing,
        "chargebacks/early.csv",
        "transaction_id,reported_at\nlate-9,2026-01-06T08:00:00Z\n",
    )
    [only] = run_ingestion(simulated, instance)
    assert only.success and only.source == "chargebacks"
    label = lake.read("silver/labels").filter(pl.col("transaction_id") == "late-9")
    assert label["customer_id"].to_list() == [None]  # its transaction has not landed

    write_landing(
        landing,
        "transactions/late.csv",
        f"{TX_HEADER}\n{tx_row('late-9', customer='42', when='2026-01-05T12:00:00Z')}\n",
    )
    outcomes = run_ingestion(simulated, instance)
    assert [(o.source, o.success) for o in outcomes] == [("transactions", True), ("labels", True)]
    label = lake.read("silver/labels").filter(pl.col("transaction_id") == "late-9")
    assert label.select("customer_id", "merchant_id").rows() == [(42, 7)]

    # Transactions and chargebacks in one drop: the chargebacks run builds labels last.
    write_landing(
        landing,
        "transactions/later.csv",
        f"{TX_HEADER}\n{tx_row('late-10', when='2026-01-05T13:00:00Z')}\n",
    )
    write_landing(
        landing,
        "chargebacks/later.csv",
        "transaction_id,reported_at\nlate-10,2026-01-06T09:00:00Z\n",
    )
    assert [o.source for o in run_ingestion(simulated, instance)] == ["transactions", "chargebacks"]
    label = lake.read("silver/labels").filter(pl.col("transaction_id") == "late-10")
    assert label["merchant_id"].to_list() == [7]


def test_a_corrected_transaction_moves_its_label_to_the_new_merchant(
    simulated: Settings, instance: dg.DagsterInstance
) -> None:
    run_ingestion(simulated, instance)
    lake = DeltaLake(simulated.lake_uri)
    labelled = lake.read("silver/labels").drop_nulls("merchant_id").row(0, named=True)
    tx = (
        lake.read("silver/transactions")
        .filter(pl.col("transaction_id") == labelled["transaction_id"])
        .row(0, named=True)
    )
    moved_to = tx["merchant_id"] + 1_000
    stamp = tx["event_timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
    write_landing(
        Path(simulated.landing_dir),
        "transactions/corrections/merchant.csv",
        f"{TX_HEADER}\n{tx['transaction_id']},{tx['customer_id']},{moved_to},{tx['amount']},"
        f"{tx['merchant_category']},{tx['channel']},{tx['country']},{stamp}\n",
    )
    assert [(o.source, o.success) for o in run_ingestion(simulated, instance)] == [
        ("transactions", True),
        ("labels", True),
    ]
    label = lake.read("silver/labels").filter(
        pl.col("transaction_id") == labelled["transaction_id"]
    )
    assert label["merchant_id"].to_list() == [moved_to]
