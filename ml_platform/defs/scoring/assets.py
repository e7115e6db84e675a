"""Scoring group: every day's transactions scored by the champion, with the features it saw.

Features come from the same Feast feature service, point-in-time retrieval and model-matrix
preparation as training, so a transaction scored here gets exactly the inputs a training row
for it would have had.
"""

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from ml_platform.defs import keys
from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish_batches, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.batching import day_batches
from ml_platform.lib.feature_store.definitions import FeatureRepo
from ml_platform.lib.feature_store.retrieval import historical_features
from ml_platform.lib.feature_store.store import feature_repo
from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.timing import Phases
from ml_platform.lib.training.dataset import entity_frame
from ml_platform.lib.training.matrix import MODEL_FEATURES
from ml_platform.lib.training.model import score
from ml_platform.lib.training.registry import CHAMPION, load_model, resolve_version
from ml_platform.lib.training.tracking import configure
from ml_platform.settings import Settings

if TYPE_CHECKING:  # the model is loaded through the registry, which imports LightGBM
    import lightgbm as lgb

SCORES_TABLE = "ml/transaction_scores"
# Day D's transactions use the feature snapshot of day D-1 (stamped at the end of D-1).
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
SCORING_BATCH_ROWS = 500_000
"""Most transactions scored at once: a backfill scores its days in batches of whole days, so
its memory follows this, not the history (a day with more rows is a batch of its own).
Measured on the demo data (1.13M transactions, all days in one run): peak resident memory
2.8 GB in one batch, 2.6 GB with 1M-row batches, 1.2 GB with 200k-row batches, same time."""


class TransactionScores(pa.DataFrameModel):
    """One scored transaction per row (feature columns follow, unchecked here)."""

    transaction_id: str = pa.Field(unique=True, description="Scored transaction.")
    customer_id: int = pa.Field(description="Card holder.")
    merchant_id: int = pa.Field(description="Merchant.")
    event_timestamp: DateTime = pa.Field(
        dtype_kwargs={"time_zone": "UTC", "time_unit": "us"}, description="Event time (UTC)."
    )
    event_date: pl.Date = pa.Field(description="Partition.")
    score: float = pa.Field(in_range={"min_value": 0, "max_value": 1}, description="Fraud score.")
    flagged: bool = pa.Field(description="score >= the decision threshold.")
    model_version: str = pa.Field(description="Registry version of the champion that scored.")

    class Config:
        """Extra columns: the model's input features."""

        strict = False


@dg.asset(
    key=keys.SCORES,
    group_name="scoring",
    kinds={"lightgbm", "polars", "delta"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[
        dg.AssetDep(keys.SILVER_TRANSACTIONS),
        dg.AssetDep(keys.CUSTOMER_DAILY, partition_mapping=PREVIOUS_DAY),
        dg.AssetDep(keys.MERCHANT_DAILY, partition_mapping=PREVIOUS_DAY),
        keys.CHAMPION,
    ],
    # A new champion scores the days that come, it does not rescore history.
    automation_condition=on_new_data(ignore=[keys.CHAMPION]),
    check_specs=[schema_check("transaction_scores", keys.SCORES, TransactionScores)],
    metadata={"dagster/column_schema": pandera_column_schema(TransactionScores)},
    description=(
        "Every transaction of the day scored by the `champion` model: score, flag at the "
        "decision threshold, model version, and the feature values the model saw (same "
        "feature service, point-in-time retrieval and model matrix as training)."
    ),
)
def transaction_scores(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Score the window's transactions with the champion, in batches of whole days."""
    settings = platform.settings()
    start, end = window_dates(context)
    lake = platform.lake()
    per_day = (
        lake.scan("silver/transactions")
        .filter(pl.col("event_date").is_between(start, end, closed="left"))
        .group_by("event_date")
        .len()
        .collect()
    )
    batches = day_batches(dict(per_day.iter_rows()), start, end, SCORING_BATCH_ROWS)
    version, booster = champion_model(settings)
    repo = feature_repo(settings)
    totals = {"rows": 0, "flagged": 0, "score_sum": 0.0}

    def scored() -> Iterator[tuple[str, pl.DataFrame]]:
        for number, (first, last) in enumerate(batches, 1):
            phases = Phases()
            frame = score_days(lake, repo, booster, version, settings, first, last, phases)
            flagged = int(frame.get_column("flagged").sum())
            totals["rows"] += frame.height
            totals["flagged"] += flagged
            totals["score_sum"] += float(frame.get_column("score").sum() or 0.0)
            context.log.info(
                f"batch {number}/{len(batches)}: scored {frame.height} transactions of "
                f"[{first}, {last}) with v{version}: {flagged} flagged ({phases.summary()})"
            )
            yield predicates.date_range("event_date", first, last), frame

    def summary() -> dict[str, object]:
        rows = totals["rows"]
        return {
            "model_version": version,
            "flagged": int(totals["flagged"]),
            "alert_rate": round(totals["flagged"] / max(rows, 1), 5),
            "mean_score": totals["score_sum"] / rows if rows else 0.0,
        }

    yield from publish_batches(
        platform,
        SCORES_TABLE,
        scored(),
        TransactionScores,
        "transaction_scores_schema_valid",
        ["event_date"],
        after_write=summary,
    )


def champion_model(settings: Settings) -> tuple[str, "lgb.Booster"]:
    """The registry version of the ``champion`` and its model, loaded from MLflow."""
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    version = resolve_version(tracking, settings.model_name, CHAMPION)
    return str(version), load_model(tracking, settings.model_name, version)


def score_days(
    lake: DeltaLake,
    repo: FeatureRepo,
    booster: "lgb.Booster",
    version: str,
    settings: Settings,
    first: dt.date,
    last: dt.date,
    phases: Phases | None = None,
) -> pl.DataFrame:
    """The transactions of ``[first, last)`` scored by ``booster``, as ``SCORES_TABLE`` rows.

    ``phases``, if given, gets the seconds of each step: ``read`` (silver), ``features``
    (point-in-time retrieval), ``score`` (model matrix + predict), ``frame``.
    """
    phases = phases or Phases()
    transactions = (
        lake.scan("silver/transactions")
        .filter(pl.col("event_date").is_between(first, last, closed="left"))
        .sort("event_timestamp", "transaction_id")
        .collect()
    )
    phases.lap("read")
    features = historical_features(lake, entity_frame(transactions), repo)
    phases.lap("features")
    scores = score(booster, features)
    phases.lap("score")
    frame = features.select(
        "transaction_id", "customer_id", "merchant_id", "event_timestamp", *MODEL_FEATURES
    ).with_columns(
        pl.col("event_timestamp").dt.date().alias("event_date"),
        pl.Series("score", scores, dtype=pl.Float64),
        pl.Series("flagged", scores >= settings.decision_threshold, dtype=pl.Boolean),
        pl.lit(version).alias("model_version"),
    )
    checked = list(TransactionScores.to_schema().columns)
    frame = frame.select(*checked, *[c for c in frame.columns if c not in checked])
    phases.lap("frame")
    return frame


scoring_assets = [transaction_scores]
