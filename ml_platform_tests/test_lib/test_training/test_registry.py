"""MLflow: store creation, a fully logged training run, the champion gate on a real registry."""

import dataclasses
import json
import multiprocessing
import os
import time
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest

from ml_platform.lib.timing import Phases
from ml_platform.lib.training import registry
from ml_platform.lib.training.dataset import TRANSACTIONS, TrainingSet, transaction_features
from ml_platform.lib.training.evaluation import evaluate_training
from ml_platform.lib.training.gate import decide
from ml_platform.lib.training.matrix import MODEL_FEATURES
from ml_platform.lib.training.model import TrainedModel, score
from ml_platform.lib.training.promotion import GateResult, champion_gate
from ml_platform.lib.training.reference import REFERENCE_FILE
from ml_platform.lib.training.tracking import HTTP_RETRY_DEFAULTS, Tracking, configure, using
from ml_platform_tests.test_lib.test_training.conftest import MODEL_NAME, SimulatedLake
from ml_platform_tests.test_lib.test_training.store_worker import configure_experiment

pytestmark = pytest.mark.filterwarnings(
    # MLflow 3.17's SQLAlchemy store, on first use in a process: not ours to fix.
    "ignore:The ``noload`` loader strategy is deprecated"
)
MARGIN = 0.002


def test_parallel_first_use_creates_one_store_and_experiment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    artifacts = str(tmp_path / "artifacts")
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        ids = pool.starmap(configure_experiment, [(uri, artifacts)] * 3)
    assert len(set(ids)) == 1
    experiment = mlflow.MlflowClient(uri).get_experiment(ids[0])
    assert experiment.name == "fraud_detection"
    assert experiment.artifact_location == (tmp_path / "artifacts").as_uri()


def test_a_training_run_logs_everything_and_registers_a_challenger(
    simulated: SimulatedLake,
    training_set: TrainingSet,
    trained: TrainedModel,
    tracking: Tracking,
) -> None:
    run = registry.log_training(
        tracking, training_set, trained, MODEL_NAME, code_version="abc123", dagster_run_id="r-1"
    )
    client = tracking.client()
    logged = client.get_run(run.run_id)

    for split in ("validation", "test"):
        for metric in ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "log_loss", "calibration_error"):
            assert logged.data.metrics[f"{split}_{metric}"] == pytest.approx(
                run.metrics[f"{split}_{metric}"]
            )
    assert logged.data.params["lgbm.seed"] == "42"
    assert logged.data.params["lgbm.num_threads"] == "2"
    tags = logged.data.tags
    versions = training_set.lineage["delta_versions"]
    for table, version in versions.items():
        assert tags[f"lineage.delta_version.{table}"] == str(version)
    assert tags["lineage.feature_service"] == "fraud_detection"
    assert tags["lineage.code_version"] == "abc123"
    assert tags["lineage.dagster_run_id"] == "r-1"
    assert tags["lineage.seed"] == "42"

    artifacts = {a.path for a in client.list_artifacts(run.run_id)}
    assert {
        "calibration.json",
        "feature_importance.svg",
        "feature_importance.json",
        "lineage.json",
        REFERENCE_FILE,
    } <= artifacts
    with using(tracking):
        reference = mlflow.artifacts.load_dict(f"runs:/{run.run_id}/{REFERENCE_FILE}")
        calibration = mlflow.artifacts.load_dict(f"runs:/{run.run_id}/calibration.json")
        model_info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/{run.version}")
    assert list(reference["features"]) == list(MODEL_FEATURES)
    assert len(calibration["test"]) == 10
    assert model_info.signature.inputs.input_names() == list(MODEL_FEATURES)
    assert model_info.saved_input_example_info is not None

    assert registry.model_aliases(tracking, MODEL_NAME) == {"challenger": run.version}
    assert registry.current_champion(tracking, MODEL_NAME) is None
    version = client.get_model_version(MODEL_NAME, run.version)
    assert version.run_id == run.run_id
    assert version.tags["lineage.feature_service"] == "fraud_detection"
    assert run.run_path == f"#/experiments/{tracking.experiment_id}/runs/{run.run_id}"
    assert run.run_url is None  # a SQLite store has no UI address of its own
    assert registry.recorded_lineage(tracking, MODEL_NAME, "challenger") == json.loads(
        json.dumps(run.lineage)
    )

    # Scoring parity: silver rows -> entity frame -> retrieval -> the registered model give
    # exactly the training-time predictions.
    test = training_set.split("test").head(300)
    silver = (
        simulated.lake.read(TRANSACTIONS)
        .join(test.select("transaction_id"), on="transaction_id", how="semi")
        .sort("event_timestamp", "transaction_id")
    )
    served = transaction_features(simulated.lake, simulated.repo, silver)
    loaded = registry.load_model(tracking, MODEL_NAME, "challenger")
    assert np.array_equal(score(loaded, served), score(trained.booster, test))
    assert loaded.model_to_string() == trained.booster.model_to_string()


def test_a_given_evaluation_is_logged_as_is_and_not_recomputed(
    training_set: TrainingSet, trained: TrainedModel, tracking: Tracking
) -> None:
    """The training step evaluates first (timed apart); log_training only talks to MLflow."""
    evaluation = evaluate_training(training_set, trained)
    marked = dataclasses.replace(evaluation, metrics={**evaluation.metrics, "marker": 7.0})
    phases = Phases()
    run = registry.log_training(
        tracking, training_set, trained, MODEL_NAME, phases=phases, evaluation=marked
    )
    assert set(phases.seconds) == {"mlflow"}  # nothing evaluated inside
    logged = tracking.client().get_run(run.run_id).data.metrics
    assert logged["marker"] == 7.0 and run.metrics == marked.metrics
    assert logged["test_roc_auc"] == pytest.approx(evaluation.metrics["test_roc_auc"])
    with using(tracking):
        reference = mlflow.artifacts.load_dict(f"runs:/{run.run_id}/{REFERENCE_FILE}")
    assert reference == json.loads(json.dumps(evaluation.reference))


def _gate(tracking: Tracking, training_set: TrainingSet, run: registry.TrainingRun) -> GateResult:
    return champion_gate(tracking, MODEL_NAME, run.version, training_set.split("test"), MARGIN)


def test_gate_promotes_first_and_better_models_and_never_a_weakened_one(
    training_set: TrainingSet,
    trained: TrainedModel,
    weak: TrainedModel,
    tracking: Tracking,
) -> None:
    client = tracking.client()

    # 1. No champion yet: even the weak model is promoted (there is nothing to compare to).
    first = registry.log_training(tracking, training_set, weak, MODEL_NAME)
    result = _gate(tracking, training_set, first)
    assert result.promoted and result.decision.reason == "no champion yet"
    assert registry.current_champion(tracking, MODEL_NAME) == first.version

    # 2. A clearly better challenger replaces it.
    good = registry.log_training(tracking, training_set, trained, MODEL_NAME)
    result = _gate(tracking, training_set, good)
    assert result.promoted
    assert result.challenger_metrics["roc_auc"] > result.champion_metrics["roc_auc"] + 0.2
    assert registry.current_champion(tracking, MODEL_NAME) == good.version

    # 3. A deliberately weakened challenger is never promoted: the champion alias stays.
    worse = registry.log_training(tracking, training_set, weak, MODEL_NAME)
    assert registry.model_aliases(tracking, MODEL_NAME) == {
        "champion": good.version,
        "challenger": worse.version,
    }
    result = _gate(tracking, training_set, worse)
    assert not result.promoted and result.outcome == "kept"
    assert registry.current_champion(tracking, MODEL_NAME) == good.version

    # The decision and both scores are recorded on the challenger's version and run.
    version_tags = client.get_model_version(MODEL_NAME, worse.version).tags
    run_tags = client.get_run(worse.run_id).data.tags
    for tags in (version_tags, run_tags):
        assert tags["gate.outcome"] == "kept"
        assert tags["gate.promote"] == "false"
        assert tags["gate.champion_version"] == good.version
        assert float(tags["gate.challenger_score"]) == pytest.approx(
            result.challenger_metrics["roc_auc"]
        )
        assert float(tags["gate.champion_score"]) == pytest.approx(
            result.champion_metrics["roc_auc"]
        )
    assert client.get_model_version(MODEL_NAME, good.version).tags["gate.outcome"] == "promoted"


def test_a_decision_against_a_stale_champion_moves_nothing(
    training_set: TrainingSet, trained: TrainedModel, tracking: Tracking
) -> None:
    first = registry.log_training(tracking, training_set, trained, MODEL_NAME)
    second = registry.log_training(tracking, training_set, trained, MODEL_NAME)
    # Decided while there was no champion...
    stale = decide({"roc_auc": 0.9}, None, MARGIN, challenger_version=second.version)
    # ...but another trainer promoted meanwhile.
    assert (
        registry.promote(
            tracking,
            MODEL_NAME,
            decide({"roc_auc": 0.9}, None, MARGIN, challenger_version=first.version),
        )
        == "promoted"
    )
    assert registry.promote(tracking, MODEL_NAME, stale) == "superseded"
    assert registry.current_champion(tracking, MODEL_NAME) == first.version
    # The gate re-decides against the new champion (same model, so no gain: kept).
    result = _gate(tracking, training_set, second)
    assert result.outcome == "kept"
    assert result.decision.champion_version == first.version
    assert registry.current_champion(tracking, MODEL_NAME) == first.version


def test_a_dead_tracking_server_fails_fast(monkeypatch, tmp_path) -> None:
    for key in HTTP_RETRY_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    configure(f"sqlite:///{tmp_path / 'm.db'}", str(tmp_path / "a"))
    assert not any(key in os.environ for key in HTTP_RETRY_DEFAULTS)  # SQLite: untouched

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the operator's choice wins
    started = time.monotonic()
    with pytest.raises(mlflow.exceptions.MlflowException):
        configure("http://127.0.0.1:9", str(tmp_path / "a"))  # nothing listens on port 9
    assert time.monotonic() - started < 10
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
    assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "1"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"


def test_frame_helpers_are_consistent(training_set: TrainingSet) -> None:
    assert training_set.split("test").height == training_set.lineage["rows"]["test"]["rows"]
    with pytest.raises(ValueError, match="unknown split"):
        training_set.split("holdout")
    assert isinstance(training_set.frame, pl.DataFrame)
