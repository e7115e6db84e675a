"""Monitoring group: daily feature drift and matured model performance, with HTML reports.

Both read what scoring wrote (``ml/transaction_scores`` holds every model input and the
score), so they describe exactly what the champion saw. Reports are self-contained HTML files
under ``reports_dir``, linked from each materialization; the figures also land in Delta
tables (one row per day and feature / per report day) that the retraining sensor reads. The
drift assets (batch and online) live in ``drift_assets.py``; this module holds performance.
"""

import datetime as dt

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, markdown_preview, pandera_column_schema
from ml_platform.defs.monitoring.common import (
    GROUP,
    Profiles,
    as_float,
    days_between,
    majority_version,
    report_path,
)
from ml_platform.defs.monitoring.drift_assets import (
    DRIFT_TABLE,
    ONLINE_DRIFT_TABLE,
    feature_drift_report,
    online_drift_report,
)
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.scoring.assets import SCORES_TABLE
from ml_platform.lib.lake import objects, predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.monitoring.performance import (
    CohortWindow,
    matured_labels,
    performance_frame,
    performance_row,
)
from ml_platform.lib.monitoring.performance_report import render_performance_report
from ml_platform.lib.monitoring.schemas import ModelPerformanceRows
from ml_platform.settings import Settings

__all__ = [
    "DRIFT_TABLE",
    "ONLINE_DRIFT_TABLE",
    "PERFORMANCE_TABLE",
    "build_monitoring_assets",
    "build_performance_asset",
]

PERFORMANCE_TABLE = "monitoring/model_performance"
TREND_DAYS = 30


def build_performance_asset(settings: Settings) -> dg.AssetsDefinition:
    """The matured-performance asset; its scores window depends on the configured maturity."""
    maturity = settings.label_maturity_days
    window_days = settings.performance_window_days
    cohorts = dg.TimeWindowPartitionMapping(
        start_offset=-(maturity + window_days - 1), end_offset=-maturity
    )

    @dg.asset(
        key=keys.PERFORMANCE,
        group_name=GROUP,
        kinds={"polars", "delta", "html"},
        owners=OWNERS,
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        deps=[
            dg.AssetDep(keys.SILVER_TRANSACTIONS),
            dg.AssetDep(keys.SCORES, partition_mapping=cohorts),
            dg.AssetDep(keys.SILVER_LABELS),
        ],
        automation_condition=on_new_data(ignore=[keys.SILVER_LABELS, keys.SCORES]),
        check_specs=[schema_check("model_performance", keys.PERFORMANCE, ModelPerformanceRows)],
        metadata={"dagster/column_schema": pandera_column_schema(ModelPerformanceRows)},
        description=(
            f"Model performance on matured labels, reported daily: the report of day D covers "
            f"the transactions of day D - {maturity} (labels as known at the end of D) and a "
            f"trailing {window_days}-day window: ROC-AUC, PR-AUC, precision and recall at the "
            "decision threshold, alert rate; `degraded` when the trailing ROC-AUC falls below "
            "the scoring model's validation ROC-AUC by the configured margin. HTML trend report."
        ),
    )
    def model_performance(context: dg.AssetExecutionContext, platform: PlatformResource):
        """Evaluate matured cohorts against the labels known on each report day."""
        run_settings = platform.settings()
        start, end = window_dates(context)
        windows = [
            CohortWindow.of(day, run_settings.label_maturity_days, window_days)
            for day in days_between(start, end)
        ]
        lake = platform.lake()
        scores = (
            lake.scan(SCORES_TABLE)
            .filter(
                pl.col("event_date").is_between(windows[0].window_start, windows[-1].cohort_day)
            )
            .select("transaction_id", "event_date", "score", "flagged", "model_version")
            .collect()
        )
        labels = lake.read("silver/labels")
        profiles = Profiles(run_settings)
        rows = []
        for window in windows:
            labelled = matured_labels(
                scores.filter(
                    pl.col("event_date").is_between(window.window_start, window.cohort_day)
                ),
                labels,
                window.labels_as_of,
            )
            cohort = labelled.filter(pl.col("event_date") == window.cohort_day)
            if cohort.is_empty():
                context.log.warning(
                    f"{window.report_day}: no scored transactions on {window.cohort_day}"
                )
                continue
            version = majority_version(cohort)
            row = performance_row(
                window,
                labelled,
                run_settings.decision_threshold,
                profiles.get(version).validation_roc_auc,
                run_settings.performance_margin,
            )
            rows.append(row)
        if not rows:
            raise dg.Failure(
                description=(
                    f"no matured scored cohorts for reports [{start}, {end}): scores of "
                    f"{windows[0].cohort_day}…{windows[-1].cohort_day} are needed (labels mature "
                    f"{run_settings.label_maturity_days} days after a transaction)"
                )
            )
        frame = performance_frame(rows)
        history = _performance_history(lake, frame, TREND_DAYS)
        newest = frame.row(-1, named=True)
        path = render_performance_report(
            report_path(run_settings, "model_performance", newest["report_date"]), history
        )
        context.log.info(
            f"performance reported {newest['report_date']} on {newest['cohort_date']}: "
            f"trailing ROC-AUC {newest['window_roc_auc']}, degraded={newest['degraded']}"
        )
        trend = history.select(
            "report_date",
            "cohort_date",
            "model_version",
            "roc_auc",
            "window_roc_auc",
            "precision",
            "recall",
            "alert_rate",
            "degraded",
        ).tail(14)
        yield from publish(
            platform,
            PERFORMANCE_TABLE,
            frame,
            ModelPerformanceRows,
            "model_performance_schema_valid",
            predicates.date_range("report_date", start, end),
            [],
            extra_metadata={
                "cohort_date": newest["cohort_date"].isoformat(),
                "roc_auc": as_float(newest["roc_auc"]),
                "window_roc_auc": as_float(newest["window_roc_auc"]),
                "pr_auc": as_float(newest["pr_auc"]),
                "precision": as_float(newest["precision"]),
                "recall": as_float(newest["recall"]),
                "alert_rate": as_float(newest["alert_rate"]),
                "validation_roc_auc": as_float(newest["validation_roc_auc"]),
                "degraded": bool(newest["degraded"]),
                "degraded_days": int(frame.get_column("degraded").sum()),
                "trend": markdown_preview(trend, 14),
                "report": dg.MetadataValue.url(objects.as_uri(path)),
                "report_path": dg.MetadataValue.path(str(path)),
            },
        )

    return model_performance


def _performance_history(lake: DeltaLake, frame: pl.DataFrame, days: int) -> pl.DataFrame:
    """The new rows with the stored ones before them: the trend the report plots."""
    first = frame.get_column("report_date").min()
    stored = (
        lake.scan(PERFORMANCE_TABLE)
        .filter(
            (pl.col("report_date") < first)
            & (pl.col("report_date") >= first - dt.timedelta(days=days))
        )
        .collect()
        if lake.exists(PERFORMANCE_TABLE)
        else frame.clear()
    )
    return pl.concat([stored.select(frame.columns).cast(frame.schema), frame]).sort("report_date")


def build_monitoring_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """Every monitoring asset for the given settings."""
    return [feature_drift_report, online_drift_report, build_performance_asset(settings)]
