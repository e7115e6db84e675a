"""Cases of the models and monitoring layers: batch scoring, MLflow logging, the drift report.

``models_prepare`` (untimed setup, once per run) does what the ``training`` group does for the
scale: the training set as of the end of the newest silver day (``build_training_set``),
``train_model``, ``log_training`` into an MLflow store under ``work/models`` and the champion
gate (``champion_gate``), so the registry holds a champion trained on the whole scale. The
other cases read that store, and the training set and model it saved.

Project cases call what the assets call (``defs/scoring``, ``defs/training``,
``defs/monitoring/drift_assets``), in the same order; baselines are ``benchmarks.baselines``
or a bare LightGBM call. Each run records its phases (``parts``: seconds per phase of the
fastest repetition) so a row can say where the time goes.
"""

import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.cases import _dates, _fresh, _lake
from benchmarks.config import bench_settings
from benchmarks.harness import Case
from ml_platform.lib.timing import Phases

UTC = dt.UTC


def models_dir(params: dict[str, Any]) -> Path:
    """Scratch folder of the models cases (MLflow store, scores lake, saved inputs)."""
    return Path(params["work"]) / "models"


def model_settings(params: dict[str, Any]) -> Any:
    """Settings of the scale's lake and Feast stores, with MLflow and reports under ``work``."""
    folder = models_dir(params)
    return bench_settings(
        Path(params["root"]),
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}",
        mlflow_artifact_root=str(folder / "mlflow" / "artifacts"),
        reports_dir=str(folder / "reports"),
    )


def _fastest(runs: list[dict[str, float]]) -> dict[str, float]:
    return min(runs, key=lambda laps: sum(laps.values())) if runs else {}


def _day(params: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """The newest day and the day after it: the scored window ``[day, end)``."""
    _, last = _dates(params)
    return last, last + dt.timedelta(days=1)


# --- the champion of the scale ----------------------------------------------------------------


def models_prepare(params: dict[str, Any]) -> Case:
    """Training set, model, MLflow run and champion, as the ``training`` group builds them."""
    from ml_platform.lib.feature_store.store import feature_repo
    from ml_platform.lib.training.dataset import build_training_set
    from ml_platform.lib.training.matrix import model_matrix
    from ml_platform.lib.training.model import train_model
    from ml_platform.lib.training.promotion import champion_gate
    from ml_platform.lib.training.registry import log_training
    from ml_platform.lib.training.tracking import configure

    settings = model_settings(params)
    folder = _fresh(models_dir(params))
    folder.mkdir()
    lake = _lake(params)
    _, end = _day(params)
    as_of = dt.datetime.combine(end, dt.time(), tzinfo=UTC)  # the end of the newest silver day
    clock = Phases()

    def run() -> tuple[Any, Any, Any]:
        built = build_training_set(
            lake, feature_repo(settings), as_of, settings.label_maturity_days
        )
        clock.lap("training_set")
        trained = train_model(built.split("train"), built.split("validation"), seed=settings.seed)
        clock.lap("train_model")
        tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
        logged = log_training(tracking, built, trained, settings.model_name)
        clock.lap("configure_and_log")
        gate = champion_gate(
            tracking,
            settings.model_name,
            logged.version,
            built.split("test"),
            settings.promotion_margin,
        )
        clock.lap("champion_gate")
        if not gate.promoted:
            raise RuntimeError(f"the first model was not promoted: {gate.outcome}")
        return built, trained, logged

    def finish(result: tuple[Any, Any, Any]) -> dict[str, Any]:
        built, trained, logged = result
        built.frame.write_parquet(folder / "training_set.parquet")
        (folder / "lineage.json").write_text(json.dumps(built.lineage, default=str))
        (folder / "trained.txt").write_text(trained.booster.model_to_string())
        facts = {
            "best_iteration": trained.best_iteration,
            "train_seconds": trained.train_seconds,
            "params": trained.params,
            "negative_sample_rate": trained.negative_sample_rate,
            "train_rows": trained.train_rows,
            "validation_auc": trained.validation_auc,
        }
        (folder / "trained.json").write_text(json.dumps(facts))
        valid = model_matrix(built.split("validation"))
        np.save(folder / "valid_project.npy", trained.booster.predict(valid))
        counts = built.frame.group_by("split").len().rows()
        return {
            "rows": dict(counts),
            **{k: v for k, v in facts.items() if k != "params"},
            "champion": logged.version,
            "test_roc_auc": logged.metrics.get("test_roc_auc"),
            "parts": clock.seconds,
        }

    return Case(run=run, finish=finish)


# --- batch scoring of one day -----------------------------------------------------------------


def scoring_day_project(params: dict[str, Any]) -> Case:
    """What ``ml/transaction_scores`` computes for the newest day, write-audit-publish included.

    The asset's own steps: ``champion_model`` (resolve and load the champion from MLflow),
    ``score_days`` (silver read, point-in-time features, ``score``, the frame; its phases
    timed by the function itself), then the frame validated (``TransactionScores``) and the
    day replaced in ``ml/transaction_scores`` of a scratch lake (``LakeTransaction``), as
    ``publish_batches`` does for one batch.
    """
    from ml_platform.defs.scoring.assets import (
        SCORES_TABLE,
        TransactionScores,
        champion_model,
        score_days,
    )
    from ml_platform.lib.feature_store.store import feature_repo
    from ml_platform.lib.lake import predicates
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.lake.transaction import LakeTransaction
    from ml_platform.lib.timing import Phases
    from ml_platform.lib.validation import validate

    settings = model_settings(params)
    lake, out = _lake(params), DeltaLake(str(models_dir(params) / "lake"))
    day, end = _day(params)
    runs: list[dict[str, float]] = []

    def run() -> tuple[pl.DataFrame, Any, str]:
        phases = Phases()
        version, booster = champion_model(settings)
        phases.lap("model")
        repo = feature_repo(settings)
        frame = score_days(lake, repo, booster, version, settings, day, end, phases)
        outcome = validate(frame, TransactionScores)
        if not outcome.passed:
            raise AssertionError(f"scores fail TransactionScores: {outcome.summary()}")
        phases.lap("validate")
        with LakeTransaction(out) as tx:
            predicate = predicates.date_range("event_date", day, end)
            tx.replace(SCORES_TABLE, frame, predicate, frame.schema, ["event_date"])
        phases.lap("write")
        runs.append(phases.seconds)
        return frame, booster, version

    def finish(result: tuple[pl.DataFrame, Any, str]) -> dict[str, Any]:
        frame, booster, version = result
        folder = models_dir(params)
        # The scored rows carry the model's features: the model-step cases score them again.
        frame.write_parquet(folder / "day_features.parquet")
        np.save(folder / "scores_day.npy", frame.get_column("score").to_numpy())
        (folder / "champion.txt").write_text(booster.model_to_string())
        return {"rows": frame.height, "version": version, "parts": _fastest(runs)}

    return Case(run=run, finish=finish)


def scoring_step_project(params: dict[str, Any]) -> Case:
    """The model step of batch scoring alone: ``score`` (``model_matrix`` + ``predict``)."""
    from ml_platform.lib.training.model import score
    from ml_platform.lib.training.registry import CHAMPION, load_model
    from ml_platform.lib.training.tracking import configure

    settings = model_settings(params)
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    booster = load_model(tracking, settings.model_name, CHAMPION)
    features = pl.read_parquet(models_dir(params) / "day_features.parquet")

    def finish(scores: np.ndarray) -> dict[str, Any]:
        np.save(models_dir(params) / "scores_step.npy", scores)
        return {"rows": int(scores.size)}

    return Case(run=lambda: score(booster, features), finish=finish)


def scoring_bare(params: dict[str, Any]) -> Case:
    """Bare ``lightgbm.Booster.predict`` of the champion on the prepared ``float64`` matrix."""
    import lightgbm as lgb

    from ml_platform.lib.training.matrix import model_matrix

    folder = models_dir(params)
    booster = lgb.Booster(model_str=(folder / "champion.txt").read_text())
    matrix = model_matrix(pl.read_parquet(folder / "day_features.parquet")).to_numpy()

    def finish(scores: np.ndarray) -> dict[str, Any]:
        np.save(folder / "scores_bare.npy", scores)
        return {"rows": int(scores.size)}

    return Case(run=lambda: booster.predict(matrix), finish=finish)


# --- MLflow logging of a training run vs the bare training call -------------------------------


def _training_set(params: dict[str, Any]) -> Any:
    from ml_platform.lib.training.dataset import TrainingSet

    folder = models_dir(params)
    return TrainingSet(
        frame=pl.read_parquet(folder / "training_set.parquet"),
        lineage=json.loads((folder / "lineage.json").read_text()),
    )


def _prepared_model(params: dict[str, Any]) -> tuple[Any, Any]:
    """The prepared training set and trained model of the scale (``work/models``)."""
    import lightgbm as lgb

    from ml_platform.lib.training.model import TrainedModel

    folder = models_dir(params)
    facts = json.loads((folder / "trained.json").read_text())
    trained = TrainedModel(
        booster=lgb.Booster(model_str=(folder / "trained.txt").read_text()), **facts
    )
    return _training_set(params), trained


def mlflow_log_project(params: dict[str, Any]) -> Case:
    """``log_training`` of the prepared model into a fresh SQLite store per repetition.

    What ``ml/fraud_model`` does after ``train_model`` and ``evaluate_training`` (computed once,
    untimed here: the ``model_evaluation_project`` case times it): ``configure`` (in ``reset``,
    timed apart: on a fresh store it creates and migrates the schema) and ``log_training``
    (timed): run, params, metrics of both held-out splits, calibration, reference distribution,
    importance plot and JSON, lineage, the model with signature and input example, the new
    registered version with its tags and ``challenger`` alias.
    """
    from ml_platform.lib.training.evaluation import evaluate_training
    from ml_platform.lib.training.registry import log_training
    from ml_platform.lib.training.tracking import configure

    settings = model_settings(params)
    built, trained = _prepared_model(params)
    evaluation = evaluate_training(built, trained)
    base = models_dir(params) / "log"
    base.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"configure": []}

    def reset() -> None:
        store = Path(tempfile.mkdtemp(dir=base))
        started = time.perf_counter()
        state["tracking"] = configure(f"sqlite:///{store / 'mlflow.db'}", str(store / "artifacts"))
        state["configure"].append(time.perf_counter() - started)

    def run() -> Any:
        return log_training(
            state["tracking"], built, trained, settings.model_name, evaluation=evaluation
        )

    def finish(logged: Any) -> dict[str, Any]:
        return {
            "version": logged.version,
            "metrics": len(logged.metrics),
            "configure_fresh_store": state["configure"],
            "train_model_lgb_seconds": trained.train_seconds,
            "train_rows": trained.train_rows,
            "best_iteration": trained.best_iteration,
        }

    return Case(run=run, reset=reset, finish=finish)


def model_evaluation_project(params: dict[str, Any]) -> Case:
    """``evaluate_training`` of the prepared model: what the training step logs, computed.

    Scores of both held-out splits, the metrics of each, calibration, the monitoring reference
    (a uniform sample of at most 200,000 held-out rows) and the importance chart.
    """
    from ml_platform.lib.training.evaluation import evaluate_training

    built, trained = _prepared_model(params)
    rows = built.split("validation").height + built.split("test").height

    def run() -> Any:
        return evaluate_training(built, trained)

    def finish(evaluation: Any) -> dict[str, Any]:
        return {"held_out_rows": rows, "metrics": len(evaluation.metrics)}

    return Case(run=run, finish=finish)


def train_bare(params: dict[str, Any]) -> Case:
    """Bare ``lgb.train``: the same parameters, sampled rows, weights and early stopping."""
    from benchmarks.baselines.bare_lightgbm import datasets, train
    from ml_platform.lib.training.dataset import LABEL
    from ml_platform.lib.training.matrix import CATEGORICAL_FEATURES, MODEL_FEATURES, model_matrix
    from ml_platform.lib.training.model import (
        EARLY_STOPPING_ROUNDS,
        MAX_ROUNDS,
        negative_sample,
    )

    folder = models_dir(params)
    facts = json.loads((folder / "trained.json").read_text())
    built = _training_set(params)
    train_rows, valid_rows = built.split("train"), built.split("validation")
    y = train_rows.get_column(LABEL).to_numpy().astype(np.int64)
    keep, weights, _ = negative_sample(y, facts["params"]["seed"])
    x = model_matrix(train_rows.filter(pl.Series(keep))).to_numpy()
    x_valid = model_matrix(valid_rows).to_numpy()
    y_valid = valid_rows.get_column(LABEL).to_numpy().astype(np.int64)
    state: dict[str, Any] = {}

    def reset() -> None:  # a fresh (unbinned) dataset per repetition
        state["sets"] = datasets(
            x, y[keep], weights, x_valid, y_valid, MODEL_FEATURES, CATEGORICAL_FEATURES
        )

    def run() -> Any:
        return train(facts["params"], *state["sets"], MAX_ROUNDS, EARLY_STOPPING_ROUNDS)

    def finish(booster: Any) -> dict[str, Any]:
        best = booster.best_iteration or booster.current_iteration()
        np.save(folder / "valid_bare.npy", booster.predict(x_valid, num_iteration=best))
        return {"best_iteration": best, "train_rows": int(keep.sum())}

    return Case(run=run, reset=reset, finish=finish)
