"""End to end: simulated landing files → silver → features, through real Dagster runs."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from ml_platform.definitions import build_definitions
from ml_platform.defs.features import assets as feature_assets
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.runner import run_features, run_ingestion
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed

pytestmark = pytest.mark.e2e

CONFIG = SimulationConfig(days=8, customers=250, merchants=50, seed=11)


@pytest.fixture
def built(settings: Settings, instance: dg.DagsterInstance) -> Settings:
    simulate_landed(CONFIG, settings)
    assert all(o.success for o in run_ingestion(settings, instance))
    outcome = run_features(settings, instance)
    assert outcome is not None and outcome.success
    return settings


def test_features_cover_every_day_and_entity(built: Settings, instance: dg.DagsterInstance) -> None:
    lake = DeltaLake(built.lake_uri)
    customers = lake.read(CUSTOMER_DAILY.name)
    merchants = lake.read(MERCHANT_DAILY.name)
    days = customers["feature_date"].unique().sort().to_list()
    assert days == [CONFIG.start + dt.timedelta(days=i) for i in range(CONFIG.days)]
    per_day = customers.group_by("feature_date").agg(pl.col("customer_id").n_unique(), pl.len())
    assert (per_day["customer_id"] == per_day["len"]).all()
    assert customers.filter(pl.col("feature_date") == days[-1]).height >= CONFIG.customers
    silver = lake.read("silver/transactions")
    last_day = silver.filter(pl.col("event_date") == days[-1])
    snapshot = customers.filter(pl.col("feature_date") == days[-1])
    assert snapshot["tx_count_1d"].sum() == last_day.height
    assert merchants.filter(pl.col("feature_date") == days[-1])["merchant_tx_count_7d"].sum() == (
        silver.filter(pl.col("event_date") > days[-1] - dt.timedelta(days=7)).height
    )
    key = dg.AssetKey(["features", "customer_daily"])
    assert set(instance.get_materialized_partitions(key)) == {d.isoformat() for d in days}
    # Chargebacks landed with their transactions: every label knows its customer and merchant,
    # and the newest snapshots count every report made by the end of their day.
    labels = lake.read("silver/labels")
    assert labels.height > 0 and labels["merchant_id"].null_count() == 0
    reported = labels.filter(pl.col("reported_at").dt.date() <= days[-1])
    assert snapshot["chargebacks_to_date"].sum() == reported.height > 0


def test_a_single_day_recompute_matches_the_backfill(
    built: Settings, instance: dg.DagsterInstance
) -> None:
    lake = DeltaLake(built.lake_uri)
    before = lake.read(CUSTOMER_DAILY.name).sort("customer_id", "event_timestamp")
    job = build_definitions(built).resolve_job_def("feature_job")
    day = (CONFIG.start + dt.timedelta(days=5)).isoformat()
    result = job.execute_in_process(
        instance=instance,
        partition_key=day,
        asset_selection=[dg.AssetKey(["features", "customer_daily"])],
    )
    assert result.success
    after = lake.read(CUSTOMER_DAILY.name).sort("customer_id", "event_timestamp")
    assert after.equals(before)


def test_feature_store_serves_the_latest_snapshot(built: Settings) -> None:
    from ml_platform.lib.feature_store.lookup import sample_online_lookup
    from ml_platform.lib.feature_store.store import feature_store

    lake = DeltaLake(built.lake_uri)
    customers = lake.read(CUSTOMER_DAILY.name)
    last = customers["feature_date"].max()
    latest = customers.filter(pl.col("feature_date") == last).sort("customer_id").head(5)
    merchants = lake.read(MERCHANT_DAILY.name)
    merchant_latest = merchants.filter(pl.col("feature_date") == last).sort("merchant_id").head(5)
    store = feature_store(built)
    assert {v.name for v in store.list_feature_views()} == {"customer_daily", "merchant_daily"}
    online = sample_online_lookup(
        store, latest["customer_id"].to_list(), merchant_latest["merchant_id"].to_list()
    )
    assert online["tx_count_30d"].to_list() == latest["tx_count_30d"].to_list()
    assert online["amount_mean_30d"].to_list() == latest["amount_mean_30d"].to_list()
    assert online["merchant_fraud_rate_30d"].to_list() == (
        merchant_latest["merchant_fraud_rate_30d"].to_list()
    )


def test_a_backfill_in_customer_ranges_equals_one_batch(
    built: Settings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = DeltaLake(built.lake_uri)
    whole = lake.read(CUSTOMER_DAILY.name).sort("customer_id", "feature_date")
    key = dg.AssetKey(["features", "customer_daily"])
    event = instance.get_latest_materialization_event(key)
    assert "batches" not in event.asset_materialization.metadata  # one batch by default

    # ~60 customers per range over the 8 days: at least 4 ranges, each written on its own.
    monkeypatch.setattr(feature_assets, "FEATURE_BATCH_ROWS", 60 * CONFIG.days)
    outcome = run_features(built, instance)
    assert outcome is not None and outcome.success
    metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
    assert metadata["batches"].value >= 4
    assert metadata["dagster/row_count"].value == whole.height
    ranged = lake.read(CUSTOMER_DAILY.name).sort("customer_id", "feature_date")
    assert ranged.drop("event_timestamp").equals(whole.drop("event_timestamp"))
    assert ranged["event_timestamp"].equals(whole["event_timestamp"])

    # A range that fails validation: nothing of the run stays, the appended ranges included.
    real = feature_assets.customer.customer_daily_features
    calls: list[int] = []

    def third_range_broken(*args, **kwargs) -> pl.DataFrame:
        frame = real(*args, **kwargs)
        calls.append(frame.height)
        # Ranges 1-2 valid but different from the table; range 3 invalid (a negative count).
        count = pl.lit(-1 if len(calls) == 3 else 0, dtype=pl.Int64)
        return frame.with_columns(count.alias("tx_count_1d"))

    monkeypatch.setattr(feature_assets.customer, "customer_daily_features", third_range_broken)
    outcome = run_features(built, instance)
    assert outcome is not None and not outcome.success
    assert len(calls) == 3
    after = lake.read(CUSTOMER_DAILY.name).sort("customer_id", "feature_date")
    assert after.equals(ranged)
