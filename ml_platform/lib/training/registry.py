"""MLflow: training runs, registered versions of the fraud model and their aliases.

A training run logs everything needed to trust, monitor and reproduce a model, and registers
it as a new version with alias ``challenger`` (MLflow 3: ``log_model(name=…)``, aliases, not
stages). Aliases have no compare-and-set (FINDINGS.md), so ``promote`` moves ``champion``
under a file lock, after re-reading the champion. Every function takes the ``Tracking`` of
``tracking.configure`` and talks to that store only.

MLflow and LightGBM (~1.5 s to import together) are imported inside the functions that use
them, so loading the code location does not pay for them: most runs (ingestion, features,
monitoring, the warehouse) never train or load a model.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml_platform.lib.locking import file_lock
from ml_platform.lib.timing import Phases
from ml_platform.lib.training import model as model_lib
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.evaluation import Evaluation, evaluate_training
from ml_platform.lib.training.gate import GateDecision
from ml_platform.lib.training.matrix import MODEL_FEATURES, model_matrix
from ml_platform.lib.training.reference import REFERENCE_FILE
from ml_platform.lib.training.tracking import Tracking, error_code, using

if TYPE_CHECKING:
    import lightgbm as lgb
    from mlflow.models import ModelSignature

CHALLENGER = "challenger"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
LINEAGE_FILE = "lineage.json"
CALIBRATION_FILE = "calibration.json"
IMPORTANCE_FILE = "feature_importance.json"
IMPORTANCE_PLOT = "feature_importance.svg"
INPUT_EXAMPLE_ROWS = 5


class RegistrationFailedError(RuntimeError):
    """Logging or registering a training run failed; the message says what was left behind."""


@dataclass(frozen=True)
class TrainingRun:
    """A logged training run and the model version it registered.

    Attributes:
        run_id: MLflow run id.
        experiment_id: MLflow experiment id.
        model_name: Registered model name.
        version: The new registered version (alias ``challenger``).
        model_uri: ``models:/<name>/<version>``.
        run_path: UI path of the run (``#/experiments/<id>/runs/<run_id>``).
        run_url: Full UI address for a tracking server, else ``None``.
        metrics: Everything logged as metrics (``validation_*``, ``test_*``, training facts).
        lineage: What the model was built from (``lineage.json``).
    """

    run_id: str
    experiment_id: str
    model_name: str
    version: str
    model_uri: str
    run_path: str
    run_url: str | None
    metrics: dict[str, float]
    lineage: dict[str, Any]


def log_training(
    tracking: Tracking,
    training_set: TrainingSet,
    trained: model_lib.TrainedModel,
    model_name: str,
    code_version: str | None = None,
    dagster_run_id: str | None = None,
    phases: Phases | None = None,
    evaluation: Evaluation | None = None,
) -> TrainingRun:
    """Log a trained model with everything needed to trust, monitor and reproduce it.

    Logs, in one run of the experiment: parameters (LightGBM's, sampling, early stopping,
    training set), metrics on the validation and test splits (ROC-AUC, PR-AUC, recall at 1 %
    FPR, log loss, calibration error) and training facts, the calibration summary, feature
    importance (plot and JSON), the reference distribution of every model feature on the
    held-out splits and of its score (``monitoring_reference``), the lineage
    (``lineage.json`` and ``lineage.*`` tags: Delta versions, feature service, code version,
    Dagster run id, seed) and the model with its signature and an
    input example. Registers it as a new version of ``model_name`` with alias
    ``challenger``.

    Args:
        tracking: The configured store.
        training_set: The set the model was trained on.
        trained: The trained model.
        model_name: Registered model name.
        code_version: Version of the code that trained it (default: the package version).
        dagster_run_id: The Dagster run that trained it, if any.
        phases: If given, gets the seconds of ``evaluate`` (only when ``evaluation`` is not
            given) and ``mlflow`` (the run, its artifacts, the model, the registration, the
            alias).
        evaluation: The model's ``evaluate_training``, if the caller computed it already
            (the training step does, to report its time apart); computed here otherwise.

    Returns:
        The run, the new version and the logged metrics.

    Raises:
        RegistrationFailedError: If MLflow (tracking, artifacts or registry) fails on the way.
            The run is marked failed; a version registered before the failure is deleted
            again, so no version without its tags and ``challenger`` alias stays behind; the
            aliases never move.
    """
    phases = phases or Phases()
    code_version = code_version or default_code_version()
    if evaluation is None:
        evaluation = evaluate_training(training_set, trained)
        phases.lap("evaluate")
    booster = trained.booster
    metrics = evaluation.metrics
    lineage = {
        **training_set.lineage,
        "seed": trained.params.get("seed"),
        "params": trained.params,
        "code_version": code_version,
        "dagster_run_id": dagster_run_id,
        "model_name": model_name,
    }
    tags = _lineage_tags(lineage)
    import mlflow.lightgbm  # see the module docstring (binds mlflow too)

    input_example = model_matrix(training_set.split("test").head(INPUT_EXAMPLE_ROWS))
    registered: list[str] = []  # the new version, once log_model has registered it
    try:
        with (
            using(tracking),
            mlflow.start_run(
                experiment_id=tracking.experiment_id,
                run_name=f"{model_name}-{lineage['as_of'][:10]}",
                tags=tags,
            ) as run,
        ):
            mlflow.log_params(_params(trained, lineage))
            files = {
                LINEAGE_FILE: lineage,
                CALIBRATION_FILE: evaluation.calibration,
                REFERENCE_FILE: evaluation.reference,
                IMPORTANCE_FILE: evaluation.importance,
                IMPORTANCE_PLOT: evaluation.importance_chart,
            }
            _log_files(files)
            info = mlflow.lightgbm.log_model(
                booster,
                name=MODEL_ARTIFACT,
                signature=_signature(),
                input_example=input_example,
                pip_requirements=_pip_requirements(),
                # MLflow would reload the saved model to predict the example; the champion
                # gate loads the registered version and scores the whole test split next.
                validate_serving_input=False,
            )
            mlflow.log_metrics(metrics, model_id=info.model_id)
            run_id = run.info.run_id
            # Registered with its tags in one call (what log_model's registered_model_name
            # does, plus the tags: one store round trip instead of one per tag).
            created = mlflow.register_model(
                f"runs:/{run_id}/{MODEL_ARTIFACT}",
                model_name,
                tags={**tags, "test_roc_auc": str(metrics["test_roc_auc"])},
            )
            registered.append(str(created.version))
        version = registered[0]
        tracking.client().set_registered_model_alias(model_name, CHALLENGER, version)
        phases.lap("mlflow")
    except Exception as error:  # the store went away, a disk filled up, ...
        raise RegistrationFailedError(
            _failed_registration(tracking, model_name, registered, error)
        ) from error
    return TrainingRun(
        run_id=run_id,
        experiment_id=tracking.experiment_id,
        model_name=model_name,
        version=version,
        model_uri=f"models:/{model_name}/{version}",
        run_path=tracking.run_path(run_id),
        run_url=tracking.run_url(run_id),
        metrics=metrics,
        lineage=lineage,
    )


def _log_files(files: dict[str, Any]) -> None:
    """Log the run's small artifacts in one upload: dicts as JSON (as ``log_dict`` writes them)."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            if not isinstance(content, str):
                content = json.dumps(content, indent=2, default=str)
            (Path(folder) / name).write_text(content, encoding="utf-8")
        mlflow.log_artifacts(folder)


def _failed_registration(
    tracking: Tracking, name: str, registered: list[str], error: Exception
) -> str:
    """Remove a half-registered version (best effort) and say what happened."""
    where = f"MLflow at {tracking.tracking_uri} (artifacts: {tracking.artifact_location})"
    message = f"logging the training run of {name} to {where} failed: "
    message += f"{type(error).__name__}: {error}. "
    if not registered:
        return message + "No model version was registered; the aliases did not move."
    version = registered[0]
    try:
        tracking.client().delete_model_version(name, version)
    except Exception as cleanup:  # the store may be down for this too
        return message + (
            f"Version {version} was registered but is incomplete (no challenger alias) and "
            f"could not be deleted ({type(cleanup).__name__}: {cleanup}): delete it by hand. "
            "The aliases did not move."
        )
    return message + f"Version {version} was registered, then deleted; the aliases did not move."


def resolve_version(tracking: Tracking, name: str, alias_or_version: str | int) -> str:
    """The version number an alias (or a version) designates.

    Raises:
        MlflowException: If the alias or version does not exist.
    """
    ref = str(alias_or_version)
    client = tracking.client()
    if ref.isdigit():
        return str(client.get_model_version(name, ref).version)
    return str(client.get_model_version_by_alias(name, ref).version)


def load_model(tracking: Tracking, name: str, alias_or_version: str | int) -> lgb.Booster:
    """Load a registered version (by number or alias) as a LightGBM booster."""
    import mlflow.lightgbm

    version = resolve_version(tracking, name, alias_or_version)
    with using(tracking):
        return mlflow.lightgbm.load_model(f"models:/{name}/{version}")


def current_champion(tracking: Tracking, name: str) -> str | None:
    """The version holding the ``champion`` alias, or ``None`` (no alias, or no model yet)."""
    return model_aliases(tracking, name).get(CHAMPION)


def model_aliases(tracking: Tracking, name: str) -> dict[str, str]:
    """Every alias of a registered model and its version (empty if the model does not exist).

    Read from the registered model itself: a missing alias is then an absent key, not an
    error whose code differs between MLflow's stores.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    try:
        model = tracking.client().get_registered_model(name)
    except MlflowException as error:
        if error_code(error) == RESOURCE_DOES_NOT_EXIST:
            return {}
        raise
    return {alias: str(version) for alias, version in model.aliases.items()}


def recorded_lineage(tracking: Tracking, name: str, alias_or_version: str | int) -> dict[str, Any]:
    """The lineage a registered version was logged with (``lineage.json`` of its run)."""
    version = resolve_version(tracking, name, alias_or_version)
    run_id = tracking.client().get_model_version(name, version).run_id
    if not run_id:
        raise ValueError(f"{name} version {version} has no training run")
    import mlflow.artifacts

    with using(tracking):
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{LINEAGE_FILE}")


def promote(tracking: Tracking, name: str, decision: GateDecision) -> str:
    """Apply a gate decision to the registry, race-safely, and record it.

    Under the promotion lock, the champion is read again: if it is no longer the one the
    decision compared against, nothing moves (another promotion won; decide again).
    Otherwise the ``champion`` alias moves to the challenger when the decision says so. The
    decision, both scores and the outcome are tagged (``gate.*``) on the challenger's version
    and on its training run.

    Args:
        tracking: The configured store.
        name: Registered model name.
        decision: The decision (with ``challenger_version`` and ``champion_version`` set).

    Returns:
        ``"promoted"``, ``"kept"`` (the champion stays) or ``"superseded"`` (the champion
        changed since the decision).
    """
    if decision.challenger_version is None:
        raise ValueError("the decision names no challenger version")
    with _promotion_lock(tracking, name):
        champion = current_champion(tracking, name)
        client = tracking.client()
        if champion != decision.champion_version:
            outcome = "superseded"
        elif decision.promote:
            client.set_registered_model_alias(name, CHAMPION, decision.challenger_version)
            outcome = "promoted"
        else:
            outcome = "kept"
        tags = {
            **decision.tags(),
            "gate.outcome": outcome,
            "gate.decided_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        version = client.get_model_version(name, decision.challenger_version)
        for key, value in tags.items():
            client.set_model_version_tag(name, decision.challenger_version, key, value)
            if version.run_id:
                client.set_tag(version.run_id, key, value)
    return outcome


def move_alias(
    tracking: Tracking, name: str, version: str | int, alias: str = CHAMPION
) -> str | None:
    """Point ``alias`` at an existing ``version`` by hand (a rollback), under the promotion lock.

    The gate's own moves go through ``promote``; this is the operator's lever, e.g. moving
    ``champion`` back to the previous version. The version is tagged ``alias_moved.<alias>``
    with the time and the version the alias left.

    Returns:
        The version the alias pointed at before (``None`` if it was unset).

    Raises:
        MlflowException: If ``version`` does not exist.
    """
    target = resolve_version(tracking, name, version)
    with _promotion_lock(tracking, name):
        previous = model_aliases(tracking, name).get(alias)
        client = tracking.client()
        client.set_registered_model_alias(name, alias, target)
        moved = f"{dt.datetime.now(dt.UTC).isoformat()} from {previous or 'none'}"
        client.set_model_version_tag(name, target, f"alias_moved.{alias}", moved)
    return previous


def default_code_version() -> str:
    """The installed ``ml-platform`` package version (``unknown`` if not installed)."""
    try:
        return metadata.version("ml-platform")
    except metadata.PackageNotFoundError:
        return "unknown"


def _promotion_lock(tracking: Tracking, name: str) -> AbstractContextManager[None]:
    """The lock every move of ``name``'s aliases holds (gate promotions and rollbacks)."""
    return file_lock(Path(tracking.lock_dir) / f"promote-{_safe(name)}.lock")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _lineage_tags(lineage: dict[str, Any]) -> dict[str, str]:
    tags = {
        f"lineage.delta_version.{table}": str(version)
        for table, version in lineage["delta_versions"].items()
    }
    for key in (
        "feature_service",
        "feature_service_fingerprint",
        "code_version",
        "dagster_run_id",
        "seed",
        "as_of",
        "maturity_days",
    ):
        value = lineage.get(key)
        tags[f"lineage.{key}"] = "none" if value is None else str(value)
    return tags


def _params(trained: model_lib.TrainedModel, lineage: dict[str, Any]) -> dict[str, Any]:
    return {
        **{f"lgbm.{key}": value for key, value in trained.params.items()},
        "max_rounds": model_lib.MAX_ROUNDS,
        "early_stopping_rounds": model_lib.EARLY_STOPPING_ROUNDS,
        "negatives_per_positive": model_lib.NEGATIVES_PER_POSITIVE,
        "as_of": lineage["as_of"],
        "maturity_days": lineage["maturity_days"],
        "splits": ",".join(str(s) for s in lineage["splits"]),
        "features": len(MODEL_FEATURES),
        **{f"rows.{split}": counts["rows"] for split, counts in lineage["rows"].items()},
        **{f"fraud.{split}": counts["fraud"] for split, counts in lineage["rows"].items()},
    }


def _signature() -> ModelSignature:
    # Every input is an optional double (model_matrix's contract): a served request may omit
    # a feature or send null for it, exactly as retrieval yields nulls without history.
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    inputs = Schema([ColSpec("double", name, required=False) for name in MODEL_FEATURES])
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1,))])
    return ModelSignature(inputs=inputs, outputs=outputs)


def _pip_requirements() -> list[str]:
    # Explicit pins: MLflow's own inference imports the model in a subprocess (slow, noisy).
    import lightgbm as lgb

    return [f"lightgbm=={lgb.__version__}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]


@dataclass(frozen=True)
class MonitoringProfile:
    """What monitoring needs to know about one registered version.

    Attributes:
        version: Registered version.
        reference: Its training reference distribution (``reference_distribution.json``).
        importance: Each model feature's share of the total gain (sums to 1).
        validation_roc_auc: ROC-AUC on its validation split (matured labels).
        run_id: Its training run.
        trained_as_of: Labels were known up to this moment when it was trained: days before
            it are inside its training window (in-sample for monitoring).
    """

    version: str
    reference: dict[str, Any]
    importance: dict[str, float]
    validation_roc_auc: float | None
    run_id: str
    trained_as_of: dt.datetime | None


def monitoring_profile(
    tracking: Tracking, name: str, alias_or_version: str | int
) -> MonitoringProfile:
    """Load the reference distribution, gain shares and validation ROC-AUC of a version."""
    version = resolve_version(tracking, name, alias_or_version)
    client = tracking.client()
    run_id = client.get_model_version(name, version).run_id
    if not run_id:
        raise ValueError(f"{name} version {version} has no training run")
    import mlflow.artifacts

    with using(tracking):
        reference = mlflow.artifacts.load_dict(f"runs:/{run_id}/{REFERENCE_FILE}")
        importance = mlflow.artifacts.load_dict(f"runs:/{run_id}/{IMPORTANCE_FILE}")
        lineage = mlflow.artifacts.load_dict(f"runs:/{run_id}/{LINEAGE_FILE}")
    as_of = lineage.get("as_of")
    gains = {feature: float(values["gain"]) for feature, values in importance.items()}
    total = sum(gains.values()) or 1.0
    metrics = client.get_run(run_id).data.metrics
    return MonitoringProfile(
        version=version,
        reference=reference,
        importance={feature: gain / total for feature, gain in gains.items()},
        validation_roc_auc=metrics.get("validation_roc_auc"),
        run_id=run_id,
        trained_as_of=dt.datetime.fromisoformat(as_of) if as_of else None,
    )
