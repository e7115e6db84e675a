"""Guard of the asset graph: the keys, checks, sensors and jobs users rely on."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from ml_platform.definitions import build_definitions, defs
from ml_platform.defs import keys
from ml_platform.settings import PROJECT_ROOT, Settings

EXPECTED_ASSETS = {
    "landing/transactions": "ingestion",
    "landing/chargebacks": "ingestion",
    "landing/customers": "ingestion",
    "bronze/transactions": "ingestion",
    "bronze/chargebacks": "ingestion",
    "bronze/customers": "ingestion",
    "bronze/quarantine": "ingestion",
    "bronze/ingestion_ledger": "ingestion",
    "silver/transactions": "staging",
    "silver/labels": "staging",
    "silver/customers": "staging",
    "features/customer_daily": "features",
    "features/merchant_daily": "features",
    "feature_store/registry": "feature_store",
    "feature_store/online_store": "feature_store",
    "ml/training_set": "training",
    "ml/fraud_model": "training",
    "ml/champion": "training",
    "ml/transaction_scores": "scoring",
    "monitoring/feature_drift": "monitoring",
    "monitoring/online_drift": "monitoring",
    "monitoring/model_performance": "monitoring",
    "warehouse/lake/transactions": "analytics",
    "warehouse/lake/labels": "analytics",
    "warehouse/lake/customers": "analytics",
    "warehouse/features/customer_daily": "analytics",
    "warehouse/features/merchant_daily": "analytics",
    "warehouse/ml/transaction_scores": "analytics",
    "warehouse/ml/model_versions": "analytics",
    "warehouse/ml/training_runs": "analytics",
    "warehouse/monitoring/feature_drift": "analytics",
    "warehouse/monitoring/model_performance": "analytics",
    "warehouse/analytics/daily_kpis": "analytics",
    "warehouse/analytics/daily_kpis_by_channel": "analytics",
    "warehouse/analytics/daily_kpis_by_category": "analytics",
    "warehouse/analytics/build_info": "analytics",
    "serving/online_scores": "serving",
}
EXPECTED_CHECKS = {
    ("bronze/transactions", "transactions_reconciled"),
    ("bronze/chargebacks", "chargebacks_reconciled"),
    ("bronze/customers", "customers_reconciled"),
    ("silver/transactions", "transactions_schema_valid"),
    ("silver/labels", "labels_schema_valid"),
    ("silver/customers", "customers_schema_valid"),
    ("features/customer_daily", "customer_daily_schema_valid"),
    ("features/merchant_daily", "merchant_daily_schema_valid"),
    ("ml/champion", "champion_roc_auc_above_floor"),
    ("ml/transaction_scores", "transaction_scores_schema_valid"),
    ("monitoring/feature_drift", "feature_drift_schema_valid"),
    ("monitoring/online_drift", "online_drift_schema_valid"),
    ("monitoring/model_performance", "model_performance_schema_valid"),
}
# What runs on its own in a fresh instance, and what is there to switch on.
EXPECTED_SENSORS = {
    "landing_sensor": dg.DefaultSensorStatus.RUNNING,
    "automation_sensor": dg.DefaultSensorStatus.RUNNING,
    "retraining_sensor": dg.DefaultSensorStatus.RUNNING,
}
EXPECTED_SCHEDULES = {
    "daily_schedule": (dg.DefaultScheduleStatus.STOPPED, "0 6 * * *"),
    "training_schedule": (dg.DefaultScheduleStatus.RUNNING, "0 3 * * 1"),
}
EXPECTED_JOBS = (
    "ingestion_job",
    "feature_job",
    "training_job",
    "scoring_job",
    "monitoring_job",
    "daily_job",
    "warehouse_job",
)
# Assets that bring themselves up to date (declarative automation); the rest are launched by
# the landing sensor (bronze), the retraining sensor / schedule (training) or by hand. The
# warehouse's derived analytics tables have no condition: they are built in the same step as
# the warehouse tables that do.
AUTOMATED = {
    "silver/transactions",
    "silver/labels",
    "silver/customers",
    "features/customer_daily",
    "features/merchant_daily",
    "feature_store/registry",
    "feature_store/online_store",
    "ml/transaction_scores",
    "monitoring/feature_drift",
    "monitoring/online_drift",
    "monitoring/model_performance",
    "warehouse/lake/transactions",
    "warehouse/lake/labels",
    "warehouse/lake/customers",
    "warehouse/features/customer_daily",
    "warehouse/features/merchant_daily",
    "warehouse/ml/transaction_scores",
    "warehouse/ml/model_versions",
    "warehouse/ml/training_runs",
    "warehouse/monitoring/feature_drift",
    "warehouse/monitoring/model_performance",
}


def _graph(definitions: dg.Definitions) -> dict[str, dg.AssetSpec]:
    graph = definitions.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def test_assets_groups_and_descriptions() -> None:
    nodes = _graph(defs())
    assert {k: n.group_name for k, n in nodes.items()} == EXPECTED_ASSETS
    for key, node in nodes.items():
        assert node.description and len(node.description) > 40, key
        assert node.owners == ["team:ml-platform"], key
        assert node.kinds, key
        assert "dagster/column_schema" in node.metadata, key


def test_checks_sensors_and_jobs() -> None:
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS
    assert all(graph.get_check_spec(k).blocking for k in graph.asset_check_keys)
    sensors = {s.name: s for s in definitions.sensors or []}
    assert {name: s.default_status for name, s in sensors.items()} == EXPECTED_SENSORS
    assert all(s.description for s in sensors.values())
    schedules = {s.name: s for s in definitions.schedules or []}
    assert {
        name: (s.default_status, s.cron_schedule) for name, s in schedules.items()
    } == EXPECTED_SCHEDULES
    assert all(s.description for s in schedules.values())
    for name in EXPECTED_JOBS:
        assert definitions.resolve_job_def(name).description


def test_downstream_assets_are_automated_and_history_is_not_rescored() -> None:
    nodes = _graph(defs())
    automated = {k for k, n in nodes.items() if n.automation_condition is not None}
    assert automated == AUTOMATED
    scores = str(nodes["ml/transaction_scores"].automation_condition)
    assert "ml', 'champion" in scores.replace('"', "'")  # a new champion is ignored


def test_event_date_assets_are_daily_with_single_run_backfills() -> None:
    graph = defs().resolve_asset_graph()
    for key in (
        "bronze/transactions",
        "silver/transactions",
        "features/customer_daily",
        "features/merchant_daily",
        "ml/transaction_scores",
        "monitoring/feature_drift",
        "monitoring/online_drift",
        "monitoring/model_performance",
    ):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition), key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_an_unknown_executor_setting_is_a_clear_error(settings: Settings) -> None:
    import dataclasses

    import pytest

    with pytest.raises(ValueError, match="ML_PLATFORM_EXECUTOR"):
        build_definitions(dataclasses.replace(settings, executor="threads"))


def test_workspace_validates_with_the_dagster_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout


def test_loading_the_code_location_does_not_import_the_model_libraries() -> None:
    """LightGBM, MLflow and scikit-learn (~1.5 s) load where a model is trained or read.

    Every process that loads the definitions (the code server, each run and step worker)
    pays for what they import; runs that never touch a model should not pay for those.
    """
    heavy = ("lightgbm", "mlflow", "sklearn")
    probe = (
        "import sys, ml_platform.definitions; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert loaded.stdout.strip().splitlines()[-1] == "[]", loaded.stdout


def test_the_named_keys_are_exactly_the_graphs_assets_outside_the_warehouse() -> None:
    named: list[dg.AssetKey] = []
    for value in vars(keys).values():
        if isinstance(value, dg.AssetKey):
            named.append(value)
        elif isinstance(value, dict):
            named.extend(v for v in value.values() if isinstance(v, dg.AssetKey))
    assert len(named) == len(set(named))
    graph = set(_graph(defs()))
    # The warehouse's tables are keyed from their catalog (analytics/assets.py).
    assert {key.to_user_string() for key in named} == {
        key for key in graph if not key.startswith("warehouse/")
    }
