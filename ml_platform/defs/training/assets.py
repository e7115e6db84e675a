"""Training group: point-in-time training set → LightGBM in MLflow → champion gate.

The training set is rebuilt from the lake through the same Feast feature service the scoring
uses; the model is logged and registered in MLflow as ``challenger``; the gate compares the
challenger with the champion on the same newest matured window and moves ``champion`` only
when the challenger is better by the configured margin. The three steps share the pool
``model_registry`` so two trainers never race on the aliases.
"""

import datetime as dt
import json
import subprocess

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.metadata import (
    OWNERS,
    markdown_preview,
    model_input_schema,
    training_set_schema,
)
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.feature_store.definitions import SERVICE_NAME
from ml_platform.lib.feature_store.store import feature_repo
from ml_platform.lib.lake.transaction import LakeTransaction
from ml_platform.lib.timing import Phases
from ml_platform.lib.training.dataset import SPLIT, SPLIT_NAMES, plan_training_set
from ml_platform.lib.training.evaluation import evaluate_training
from ml_platform.lib.training.model import train_model
from ml_platform.lib.training.promotion import champion_gate
from ml_platform.lib.training.registry import log_training
from ml_platform.lib.training.stored import StoredTrainingSet
from ml_platform.lib.training.tracking import configure
from ml_platform.settings import PROJECT_ROOT

GROUP = "training"
REGISTRY_POOL = "model_registry"
TRAINING_SET_TABLE = "ml/training_set"
HEADLINE = ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "log_loss")
TRAINING_BATCH_ROWS = 1_000_000
"""Most training-set rows featured and written at once (memory follows the batch)."""


def _code_version() -> str | None:
    """The git commit of the code location when run from a checkout (else the package version)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"git:{commit}" if commit else None


def _as_of(platform: PlatformResource) -> dt.datetime:
    """Labels are taken as known at the end of the newest day silver holds."""
    newest = (
        platform.lake()
        .scan("silver/transactions")
        .select(pl.col("event_date").max())
        .collect()
        .item()
    )
    if newest is None:
        raise dg.Failure("silver/transactions is empty: ingest landing files first")
    return dt.datetime.combine(newest + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _latest_metadata(context: dg.AssetExecutionContext, key: dg.AssetKey) -> dict:
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        raise dg.Failure(f"{key.to_user_string()} has never been materialized")
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def _training_set(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> StoredTrainingSet:
    """The training set at the version its latest materialization wrote, read a split at a time."""
    metadata = _latest_metadata(context, keys.TRAINING_SET)
    version = metadata.get("delta_version")
    return StoredTrainingSet(
        lake=platform.lake(),
        table=TRAINING_SET_TABLE,
        version=int(version) if version is not None else None,
        lineage=json.loads(metadata["lineage"]),
    )


@dg.asset(
    key=keys.TRAINING_SET,
    group_name=GROUP,
    kinds={"polars", "delta", "feast"},
    owners=OWNERS,
    metadata={"dagster/column_schema": training_set_schema()},
    deps=[
        keys.SILVER_TRANSACTIONS,
        keys.SILVER_LABELS,
        keys.CUSTOMER_DAILY,
        keys.MERCHANT_DAILY,
        keys.FEATURE_REGISTRY,
    ],
    description=(
        "Matured transactions (older than the label-maturity window at the newest silver day) "
        f"with their label as known then, joined point-in-time with the `{SERVICE_NAME}` "
        "feature service plus request-time features; split train / validation / test by event "
        "time. Records the Delta versions and the feature service it was built from."
    ),
)
def training_set(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Build the time-split, point-in-time training set."""
    settings = platform.settings()
    as_of = _as_of(platform)
    try:
        plan = plan_training_set(
            platform.lake(), feature_repo(settings), as_of, settings.label_maturity_days
        )
    except ValueError as error:
        raise dg.Failure(
            description=(
                f"cannot build the training set as of {as_of:%Y-%m-%d}: {error}. Labels mature "
                f"{settings.label_maturity_days} days after a transaction: land more days of "
                "data, or lower ML_PLATFORM_LABEL_MATURITY_DAYS."
            )
        ) from error
    context.log.info(f"training set as of {as_of}: {plan.rows:,} rows, featured in batches")
    written, batches = 0, 0
    with LakeTransaction(platform.lake()) as tx:  # all batches or none
        for batch in plan.batches(TRAINING_BATCH_ROWS):
            if written == 0:
                schema = batch.schema
                version = tx.replace(TRAINING_SET_TABLE, batch, None, schema)
            else:
                version = tx.append(TRAINING_SET_TABLE, batch, schema)
            written, batches = written + batch.height, batches + 1
            context.log.info(f"training set: {written:,} of {plan.rows:,} rows written")
    rows = plan.lineage["rows"]
    counts = pl.DataFrame(
        {
            SPLIT: list(SPLIT_NAMES),
            "rows": [rows[name]["rows"] for name in SPLIT_NAMES],
            "frauds": [rows[name]["fraud"] for name in SPLIT_NAMES],
        }
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": plan.rows,
            "batches": batches,
            "as_of": as_of.isoformat(),
            "label_maturity_days": settings.label_maturity_days,
            "feature_service": SERVICE_NAME,
            "rows_by_split": markdown_preview(counts.sort(SPLIT)),
            "delta_versions": dg.MetadataValue.json(plan.lineage.get("delta_versions", {})),
            "lineage": json.dumps(plan.lineage, default=str),
            "delta_version": version,
        }
    )


@dg.asset(
    key=keys.MODEL,
    group_name=GROUP,
    kinds={"lightgbm", "mlflow"},
    owners=OWNERS,
    metadata={"dagster/column_schema": model_input_schema()},  # the model's input signature
    deps=[keys.TRAINING_SET],
    pool=REGISTRY_POOL,
    description=(
        "LightGBM fraud classifier (early stopping on validation, class imbalance handled, "
        "fixed seed and threads), logged to MLflow with metrics, calibration, feature "
        "importance, the reference distribution of every feature and its lineage; registered "
        "as a new version of the model with alias `challenger`."
    ),
)
def fraud_model(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Train, log and register a challenger."""
    settings = platform.settings()
    stored = _training_set(context, platform)
    # Only the train rows the negative sampling keeps, and the held-out splits, are read.
    train, sample = stored.sampled_train(settings.seed)
    built = stored.held_out()
    trained = train_model(train, built.split("validation"), seed=settings.seed, sampled=sample)
    del train
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    phases = Phases()
    evaluation = evaluate_training(built, trained)  # held-out scores, metrics, reference
    phases.lap("evaluate")
    run = log_training(
        tracking,
        built,
        trained,
        settings.model_name,
        code_version=_code_version(),
        dagster_run_id=context.run.run_id,
        phases=phases,
        evaluation=evaluation,
    )
    context.log.info(
        f"registered {settings.model_name} v{run.version} (challenger): test ROC-AUC "
        f"{run.metrics['test_roc_auc']:.4f}, MLflow run {run.run_path} ({phases.summary()})"
    )
    return dg.MaterializeResult(
        metadata={
            **{
                f"test_{k}": run.metrics[f"test_{k}"]
                for k in HEADLINE
                if f"test_{k}" in run.metrics
            },
            "validation_roc_auc": run.metrics.get("validation_roc_auc"),
            "best_iteration": int(run.metrics.get("best_iteration", 0)),
            "train_seconds": round(run.metrics.get("train_seconds", 0.0), 2),
            "evaluation_seconds": round(phases.seconds["evaluate"], 3),
            "mlflow_logging_seconds": round(phases.seconds["mlflow"], 3),
            "model_version": run.version,
            "model_uri": run.model_uri,
            "mlflow_run": dg.MetadataValue.url(run.run_url)
            if run.run_url
            else f"{run.run_path} (open `make mlflow`, then this path)",
            "mlflow_run_id": run.run_id,
        }
    )


@dg.asset(
    key=keys.CHAMPION,
    group_name=GROUP,
    kinds={"mlflow"},
    owners=OWNERS,
    metadata={"dagster/column_schema": model_input_schema()},  # what the champion scores on
    deps=[keys.MODEL],
    pool=REGISTRY_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "champion_roc_auc_above_floor",
            asset=keys.CHAMPION,
            blocking=True,
            description=(
                "The champion's ROC-AUC on the newest matured window is at least "
                "ML_PLATFORM_CHAMPION_MIN_ROC_AUC; below it, scoring does not run."
            ),
        )
    ],
    description=(
        "The champion gate: scores the new challenger and the current champion on the same "
        "newest matured window (the test split) and moves the `champion` alias only when there "
        "is no champion or the challenger's ROC-AUC is better by the promotion margin. Always "
        "records the decision and both scores (Dagster metadata and MLflow tags)."
    ),
)
def champion(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Decide whether the challenger replaces the champion."""
    settings = platform.settings()
    challenger_version = str(_latest_metadata(context, keys.MODEL)["model_version"])
    test = _training_set(context, platform).split("test")
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    result = champion_gate(
        tracking,
        settings.model_name,
        challenger_version,
        test,
        settings.promotion_margin,
    )
    decision = result.decision
    champion_metrics = (
        result.challenger_metrics if result.promoted else result.champion_metrics
    ) or result.challenger_metrics
    champion_version = challenger_version if result.promoted else decision.champion_version
    context.log.info(f"champion gate: {result.outcome} — {decision.reason}")
    yield dg.MaterializeResult(
        metadata={
            "outcome": result.outcome,
            "reason": decision.reason,
            "challenger_version": challenger_version,
            "challenger_roc_auc": decision.challenger_score,
            "previous_champion_version": decision.champion_version or "none",
            "previous_champion_roc_auc": decision.champion_score,
            "champion_version": champion_version,
            "margin": decision.margin,
        }
    )
    roc_auc = champion_metrics["roc_auc"]
    yield dg.AssetCheckResult(
        check_name="champion_roc_auc_above_floor",
        passed=roc_auc >= settings.champion_min_roc_auc,
        metadata={
            "champion_version": champion_version,
            "roc_auc": roc_auc,
            "floor": settings.champion_min_roc_auc,
        },
    )


training_assets = [training_set, fraud_model, champion]
