"""End to end: landing → features → training set → MLflow challenger → gate → batch scores."""

import dataclasses

import dagster as dg
import numpy as np
import polars as pl
import pytest

from ml_platform.defs.scoring import assets as scoring_assets
from ml_platform.defs.training import assets as training_assets
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.lib.training import dataset as dataset_module
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.model import score
from ml_platform.lib.training.registry import load_model, model_aliases
from ml_platform.lib.training.tracking import configure
from ml_platform.runner import run_features, run_ingestion, run_scoring, run_training
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed

pytestmark = pytest.mark.e2e

CONFIG = SimulationConfig(days=24, customers=700, merchants=120, seed=5)


@pytest.fixture
def trained(settings: Settings, instance: dg.DagsterInstance) -> Settings:
    settings = dataclasses.replace(settings, label_maturity_days=4)
    simulate_landed(CONFIG, settings)
    assert all(o.success for o in run_ingestion(settings, instance))
    assert run_features(settings, instance).success
    assert run_training(settings, instance).success
    return settings


def _metadata(instance: dg.DagsterInstance, *key: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(list(key)))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_train_register_gate_and_score(trained: Settings, instance: dg.DagsterInstance) -> None:
    tracking = configure(trained.mlflow_tracking_uri, trained.mlflow_artifact_root)
    assert model_aliases(tracking, trained.model_name) == {"challenger": "1", "champion": "1"}
    first_gate = _metadata(instance, "ml", "champion")
    assert first_gate["outcome"] == "promoted" and first_gate["champion_version"] == "1"
    model = _metadata(instance, "ml", "fraud_model")
    assert 0.5 < model["test_roc_auc"] <= 1.0
    # The step reports its held-out evaluation and its MLflow calls apart.
    assert model["evaluation_seconds"] > 0 and model["mlflow_logging_seconds"] > 0

    # Same data, same seed: an identical challenger is not better by the margin, so it is kept
    # out; the champion alias does not move.
    assert run_training(trained, instance).success
    assert model_aliases(tracking, trained.model_name) == {"challenger": "2", "champion": "1"}
    assert _metadata(instance, "ml", "champion")["outcome"] == "kept"

    outcome = run_scoring(trained, instance)
    assert outcome is not None and outcome.success
    lake = DeltaLake(trained.lake_uri)
    scores = lake.read("ml/transaction_scores")
    assert scores.height == lake.read("silver/transactions").height
    assert set(scores["model_version"].unique()) == {"1"}
    assert scores["score"].is_between(0, 1).all()

    # Parity: a training row scored by the batch path gets the model's training-time score.
    training = TrainingSet(lake.read("ml/training_set"), lineage={})
    test_rows = training.split("test")
    booster = load_model(tracking, trained.model_name, "1")
    expected = pl.DataFrame(
        {"transaction_id": test_rows["transaction_id"], "expected": score(booster, test_rows)}
    )
    joined = expected.join(scores, on="transaction_id")
    assert joined.height == test_rows.height
    np.testing.assert_allclose(joined["score"], joined["expected"], rtol=0, atol=1e-12)


def test_a_backfill_scores_in_batches_of_days_all_or_nothing(
    trained: Settings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = DeltaLake(trained.lake_uri)
    outcome = run_scoring(trained, instance)  # the whole history fits in one batch
    assert outcome is not None and outcome.success
    assert "batches" not in _metadata(instance, "ml", "transaction_scores")
    whole = lake.read("ml/transaction_scores").sort("transaction_id")

    # About three days per batch: the same rows, scored the same, written batch by batch.
    per_day = lake.read("silver/transactions").group_by("event_date").len()
    monkeypatch.setattr(scoring_assets, "SCORING_BATCH_ROWS", 3 * int(per_day["len"].median()))
    outcome = run_scoring(trained, instance)
    assert outcome is not None and outcome.success
    metadata = _metadata(instance, "ml", "transaction_scores")
    assert metadata["batches"] >= 6
    assert metadata["dagster/row_count"] == whole.height
    batched = lake.read("ml/transaction_scores").sort("transaction_id")
    assert batched.equals(whole)

    # A batch that fails validation is never written and the earlier batches are rolled back.
    version = lake.version("ml/transaction_scores")
    real = scoring_assets.score_days
    calls = []

    def third_batch_broken(*args, **kwargs) -> pl.DataFrame:
        frame = real(*args, **kwargs)
        calls.append(frame.height)
        # Batches 1 and 2 valid but different from what the table holds; batch 3 invalid.
        changed = 1.5 if len(calls) == 3 else 0.0
        return frame.with_columns(pl.lit(changed).alias("score"))

    monkeypatch.setattr(scoring_assets, "score_days", third_batch_broken)
    outcome = run_scoring(trained, instance)
    assert outcome is not None and not outcome.success
    assert len(calls) == 3  # stopped at the broken batch
    assert lake.version("ml/transaction_scores") > version  # two batches were written ...
    assert lake.read("ml/transaction_scores").sort("transaction_id").equals(whole)  # ... undone
    key = dg.AssetCheckKey(
        dg.AssetKey(["ml", "transaction_scores"]), "transaction_scores_schema_valid"
    )
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    assert latest.run_id == outcome.run_id
    evaluation = latest.event.asset_check_evaluation
    assert not evaluation.passed
    assert "score" in evaluation.metadata["summary"].value


def test_the_training_set_is_written_in_batches_all_or_nothing(
    trained: Settings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = DeltaLake(trained.lake_uri)
    order = ("event_timestamp", "transaction_id")
    assert _metadata(instance, "ml", "training_set")["batches"] == 1
    whole = lake.read("ml/training_set").sort(order)
    first_model = _metadata(instance, "ml", "fraud_model")

    # Four batches: the same rows and values, and the same model trained on them.
    monkeypatch.setattr(training_assets, "TRAINING_BATCH_ROWS", whole.height // 4 + 1)
    assert run_training(trained, instance).success
    metadata = _metadata(instance, "ml", "training_set")
    assert metadata["batches"] == 4 and metadata["dagster/row_count"] == whole.height
    assert lake.read("ml/training_set").sort(order).equals(whole)
    model = _metadata(instance, "ml", "fraud_model")
    assert model["model_version"] == "2"
    assert model["test_roc_auc"] == first_model["test_roc_auc"]
    assert model["best_iteration"] == first_model["best_iteration"]

    # A batch that fails leaves the table as it was: the batches before it are undone.
    version = lake.version("ml/training_set")
    real = dataset_module.historical_features
    calls = []

    def third_batch_fails(*args, **kwargs) -> pl.DataFrame:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("feature table unreadable")
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "historical_features", third_batch_fails)
    outcome = run_training(trained, instance)
    assert not outcome.success
    assert len(calls) == 3
    assert lake.version("ml/training_set") > version  # two batches were written ...
    assert lake.read("ml/training_set").sort(order).equals(whole)  # ... and undone
    assert _metadata(instance, "ml", "fraud_model")["model_version"] == "2"  # no new model
