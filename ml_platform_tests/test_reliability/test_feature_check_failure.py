"""A feature partition failing its Pandera model: not written, nothing downstream, and why.

No mock: the bad value comes from real landing data. Two transactions of one customer on the
last day are each mis-keyed as 50,000,000,000,000,000.00. Each passes ingestion and silver
validation (finite, > 0; silver has no upper bound on amounts), but the customer's exact cent
sums overflow Int64 and wrap to negative values, so that day's ``features/customer_daily``
has a negative ``amount_sum_1d`` and fails its Pandera model (amounts ``>= 0``).
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.definitions import build_definitions
from ml_platform.lib.features.catalog import CUSTOMER_DAILY
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig, simulate
from ml_platform.runner import run_features, run_ingestion
from ml_platform.settings import Settings
from ml_platform_tests.conftest import settle

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

CONFIG = SimulationConfig(days=3, customers=40, merchants=8, seed=3)
LAST = CONFIG.start + dt.timedelta(days=CONFIG.days - 1)
CUSTOMER = 7
MIS_KEYED = "50000000000000000.00"  # each row fits Int64 in cents; their sum does not
CUSTOMER_DAILY_KEY = dg.AssetKey(["features", "customer_daily"])
CHECK = "customer_daily_schema_valid"
# Everything the daily run would build from features/customer_daily of the bad day.
DOWNSTREAM = [
    dg.AssetKey(["feature_store", "online_store"]),
    dg.AssetKey(["ml", "transaction_scores"]),
]


def _land_world(settings: Settings) -> None:
    landing = Path(settings.landing_dir)
    simulate(CONFIG, landing, Path(settings.ground_truth_dir), progress=False)
    bad_day = landing / "transactions" / f"transactions_{LAST.isoformat()}.csv"
    with bad_day.open("a") as handle:
        for n in (1, 2):
            handle.write(
                f"tx-mis-keyed-{n},{CUSTOMER},1,{MIS_KEYED},grocery,pos,US,"
                f"{LAST.isoformat()}T1{n}:00:00Z\n"
            )
    settle(landing)


def _event_types(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """Step key → event types that step produced in the run."""
    steps: dict[str, set[str]] = {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is not None and entry.step_key:
            steps.setdefault(entry.step_key, set()).add(entry.dagster_event.event_type_value)
    return steps


def test_a_failing_feature_partition_stops_its_downstream_and_says_why(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    _land_world(settings)
    assert all(o.success for o in run_ingestion(settings, instance))
    lake = DeltaLake(settings.lake_uri)
    silver = lake.read("silver/transactions")
    assert silver.filter(pl.col("transaction_id").str.starts_with("tx-mis-keyed")).height == 2
    # The days before are built and published as usual.
    before = run_features(settings, instance, last=LAST - dt.timedelta(days=1))
    assert before is not None and before.success

    # The daily run of the bad day: features, feature store, scoring, monitoring.
    result = (
        build_definitions(settings)
        .resolve_job_def("daily_job")
        .execute_in_process(instance=instance, partition_key=LAST.isoformat(), raise_on_error=False)
    )

    assert not result.success
    # Not written: the table holds every earlier day and nothing of the bad one.
    days = lake.read(CUSTOMER_DAILY.name)["feature_date"].unique().sort().to_list()
    assert days == [CONFIG.start + dt.timedelta(days=i) for i in range(CONFIG.days - 1)]
    assert LAST.isoformat() not in instance.get_materialized_partitions(CUSTOMER_DAILY_KEY)

    # What the UI shows: the blocking check failed, naming the column, the check and examples.
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    evaluation = evaluations[CHECK]
    assert not evaluation.passed
    assert evaluation.blocking
    metadata = {key: value.value for key, value in evaluation.metadata.items()}
    summary = str(metadata["summary"])
    assert "amount_sum_1d: greater_than_or_equal_to(0)" in summary, summary
    assert "amount_mean_1d" in summary, summary
    assert "| amount_sum_1d |" in str(metadata["failure_sample"])
    failure = result.failure_data_for_node(CUSTOMER_DAILY_KEY.to_python_identifier())
    assert failure is not None and "not written" in str(failure.error)
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(CUSTOMER_DAILY_KEY, CHECK)]
    )[dg.AssetCheckKey(CUSTOMER_DAILY_KEY, CHECK)]
    assert latest.run_id == result.run_id
    assert latest.event is not None and not latest.event.asset_check_evaluation.passed

    # Downstream never ran for it (the run log says why), no materialization anywhere.
    steps = _event_types(instance, result.run_id)
    assert "STEP_FAILURE" in steps[CUSTOMER_DAILY_KEY.to_python_identifier()]
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    for key in DOWNSTREAM:
        step = key.to_python_identifier()
        assert not steps[step] & {"STEP_START", "STEP_SUCCESS", "ASSET_MATERIALIZATION"}, step
        assert any(
            f"Dependencies for step {step} failed" in message
            and "features__customer_daily" in message
            and "Not executing" in message
            for message in messages
        ), step
        materialized = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=10
        ).records
        assert all(record.run_id != result.run_id for record in materialized)
    scores = instance.get_materialized_partitions(dg.AssetKey(["ml", "transaction_scores"]))
    assert LAST.isoformat() not in scores
