"""Guard of the asset graph: the keys, checks, sensors and jobs users rely on."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from ml_platform.definitions import build_definitions, defs
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


def test_checks_sensors_and_jobs() -> None:
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS
    assert all(graph.get_check_spec(k).blocking for k in graph.asset_check_keys)
    sensor = definitions.resolve_sensor_def("landing_sensor")
    assert sensor.description and sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for name in ("ingestion_job", "feature_job", "training_job", "scoring_job"):
        assert definitions.resolve_job_def(name).description


def test_event_date_assets_are_daily_with_single_run_backfills() -> None:
    graph = defs().resolve_asset_graph()
    for key in (
        "bronze/transactions",
        "silver/transactions",
        "features/customer_daily",
        "features/merchant_daily",
        "ml/transaction_scores",
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
