"""Monitoring group: daily feature drift and matured model performance, with HTML reports.

Both read what scoring wrote (``ml/transaction_scores`` holds every model input and the
score), so they describe exactly what the champion saw. Reports are self-contained HTML files
under ``reports_dir``, linked from each materialization; the figures also land in Delta
tables (one row per day and feature / per report day) that the retraining sensor reads.
"""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, markdown_preview, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.scoring.assets import SCORES_KEY, SCORES_TABLE
from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.monitoring.drift import (
    DriftThresholds,
    FeatureDrift,
    drift_frame,
    drift_summary,
    feature_drift,
)
from ml_platform.lib.monitoring.performance import (
    CohortWindow,
    matured_labels,
    performance_frame,
    performance_row,
)
from ml_platform.lib.monitoring.performance_report import render_performance_report
from ml_platform.lib.monitoring.report import drift_markdown, render_drift_report
from ml_platform.lib.monitoring.schemas import FeatureDriftRows, ModelPerformanceRows
from ml_platform.lib.training.matrix import model_matrix
from ml_platform.lib.training.registry import MonitoringProfile, monitoring_profile
from ml_platform.lib.training.tracking import configure
from ml_platform.settings import Settings

GROUP = "monitoring"
DRIFT_TABLE = "monitoring/feature_drift"
PERFORMANCE_TABLE = "monitoring/model_performance"
DRIFT_KEY = dg.AssetKey(["monitoring", "feature_drift"])
PERFORMANCE_KEY = dg.AssetKey(["monitoring", "model_performance"])
SILVER_TRANSACTIONS = dg.AssetKey(["silver", "transactions"])
SILVER_LABELS = dg.AssetKey(["silver", "labels"])
TREND_DAYS = 30


def drift_thresholds(settings: Settings) -> DriftThresholds:
    """The configured drift thresholds."""
    return DriftThresholds(
        psi=settings.drift_psi_threshold,
        ks=settings.drift_ks_threshold,
        categorical=settings.drift_categorical_threshold,
        score_psi=settings.drift_score_psi_threshold,
    )


def report_path(settings: Settings, report: str, day: dt.date) -> Path:
    """Where the HTML report of one day goes."""
    return Path(settings.reports_dir) / report / f"{day.isoformat()}.html"


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


class _Profiles:
    """Monitoring profiles of model versions, loaded once per run."""

    def __init__(self, settings: Settings) -> None:
        self._tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
        self._name = settings.model_name
        self._cache: dict[str, MonitoringProfile] = {}

    def get(self, version: str) -> MonitoringProfile:
        if version not in self._cache:
            self._cache[version] = monitoring_profile(self._tracking, self._name, version)
        return self._cache[version]


def _majority_version(scores: pl.DataFrame) -> str:
    counts = scores.group_by("model_version").len().sort(["len", "model_version"])
    return str(counts.get_column("model_version")[-1])


@dg.asset(
    key=DRIFT_KEY,
    group_name=GROUP,
    kinds={"polars", "delta", "html"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[dg.AssetDep(SCORES_KEY)],
    automation_condition=on_new_data(),
    check_specs=[schema_check("feature_drift", DRIFT_KEY, FeatureDriftRows)],
    metadata={"dagster/column_schema": pandera_column_schema(FeatureDriftRows)},
    description=(
        "Each scored day against the training reference of the model that scored it: PSI "
        "(reference bins) and Kolmogorov-Smirnov for numeric features, Jensen-Shannon distance "
        "for categorical ones, PSI of the score distribution. One row per day and feature; a "
        "self-contained HTML report per day with reference-vs-current plots."
    ),
)
def feature_drift_report(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Compare each day's model inputs and scores with the champion's training reference."""
    settings = platform.settings()
    start, end = window_dates(context)
    scores_all = (
        platform.lake()
        .scan(SCORES_TABLE)
        .filter(pl.col("event_date").is_between(start, end, closed="left"))
        .collect()
    )
    profiles = _Profiles(settings)
    reports = []
    for day in _days(start, end):
        scores = scores_all.filter(pl.col("event_date") == day)
        if scores.is_empty():
            context.log.warning(f"no scored transactions on {day}: no drift report for it")
            continue
        report = _day_drift(settings, profiles, day, scores)
        summary = drift_summary(report.results)
        context.log.info(
            f"drift {day} vs v{report.version}: {len(summary['drifted_features'])} of "
            f"{summary['features']} features drifted, worst PSI {_fmt(summary['worst_psi'])} "
            f"({summary['worst_feature']}), report {report.path}"
        )
        reports.append(report)
    if not reports:
        raise dg.Failure(
            description=(
                f"no scored transactions in [{start}, {end}): materialize ml/transaction_scores "
                "for these days first"
            )
        )
    frame = pl.concat([drift_frame(r.results, r.day, r.version) for r in reports])
    newest = reports[-1]
    summary = drift_summary(newest.results)
    metadata: dict[str, object] = {
        "worst_psi": _float(summary["worst_psi"]),
        "worst_feature": str(summary["worst_feature"] or "none judged"),
        "drifted_features": len(summary["drifted_features"]),
        "drifted": dg.MetadataValue.json(summary["drifted_features"]),
        "score_psi": _float(summary["score_psi"]),
        "model_version": newest.version,
        "report": dg.MetadataValue.url(newest.path.resolve().as_uri()),
        "report_path": dg.MetadataValue.path(str(newest.path)),
        "summary": dg.MetadataValue.md(drift_markdown(newest.results)),
        "days": len(reports),
    }
    if len(reports) > 1:
        metadata["per_day"] = dg.MetadataValue.md(_per_day_table(reports))
        metadata["worst_psi"] = float(frame.filter(pl.col("kind") != "score")["psi"].max())
    yield from publish(
        platform,
        DRIFT_TABLE,
        frame,
        FeatureDriftRows,
        "feature_drift_schema_valid",
        predicates.date_range("event_date", start, end),
        ["event_date"],
        extra_metadata=metadata,
    )


@dataclasses.dataclass(frozen=True)
class _DayDrift:
    """One day's drift results and where its report was written."""

    day: dt.date
    version: str
    results: list[FeatureDrift]
    path: Path


def _day_drift(
    settings: Settings, profiles: "_Profiles", day: dt.date, scores: pl.DataFrame
) -> _DayDrift:
    """Compare one day's scored rows with the reference of the model that scored most of them."""
    version = _majority_version(scores)
    profile = profiles.get(version)
    scores = scores.filter(pl.col("model_version") == version)
    matrix = model_matrix(scores)
    values = {name: matrix[name].to_numpy() for name in matrix.columns}
    score_values = scores.get_column("score").to_numpy()
    thresholds = drift_thresholds(settings)
    results = feature_drift(profile.reference, values, score_values, profile.importance, thresholds)
    if profile.trained_as_of is not None and day < profile.trained_as_of.date():
        results = _in_sample(results, profile.trained_as_of)
    path = render_drift_report(
        report_path(settings, "feature_drift", day),
        day,
        version,
        results,
        profile.reference,
        values,
        score_values,
        thresholds,
    )
    return _DayDrift(day, version, results, path)


def _per_day_table(reports: list[_DayDrift]) -> str:
    lines = [
        "| day | model | drifted | worst feature | worst PSI | score PSI |",
        "|---|---|---|---|---|---|",
    ]
    for report in reports:
        summary = drift_summary(report.results)
        lines.append(
            f"| {report.day} | v{report.version} | {len(summary['drifted_features'])} | "
            f"{summary['worst_feature'] or '—'} | {_fmt(summary['worst_psi'])} | "
            f"{_fmt(summary['score_psi'])} |"
        )
    return "\n".join(lines)


def _in_sample(results: list[FeatureDrift], as_of: dt.datetime) -> list[FeatureDrift]:
    """Days the model was trained on are reported but never judged (they are its reference)."""
    reason = f"inside the model's training window (labels as of {as_of:%Y-%m-%d})"
    return [dataclasses.replace(r, drifted=False, judged=False, reason=reason) for r in results]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _float(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def build_performance_asset(settings: Settings) -> dg.AssetsDefinition:
    """The matured-performance asset; its scores window depends on the configured maturity."""
    maturity = settings.label_maturity_days
    window_days = settings.performance_window_days
    cohorts = dg.TimeWindowPartitionMapping(
        start_offset=-(maturity + window_days - 1), end_offset=-maturity
    )

    @dg.asset(
        key=PERFORMANCE_KEY,
        group_name=GROUP,
        kinds={"polars", "delta", "html"},
        owners=OWNERS,
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        deps=[
            dg.AssetDep(SILVER_TRANSACTIONS),
            dg.AssetDep(SCORES_KEY, partition_mapping=cohorts),
            dg.AssetDep(SILVER_LABELS),
        ],
        automation_condition=on_new_data(ignore=[SILVER_LABELS, SCORES_KEY]),
        check_specs=[schema_check("model_performance", PERFORMANCE_KEY, ModelPerformanceRows)],
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
            for day in _days(start, end)
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
        profiles = _Profiles(run_settings)
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
            version = _majority_version(cohort)
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
                "roc_auc": _float(newest["roc_auc"]),
                "window_roc_auc": _float(newest["window_roc_auc"]),
                "pr_auc": _float(newest["pr_auc"]),
                "precision": _float(newest["precision"]),
                "recall": _float(newest["recall"]),
                "alert_rate": _float(newest["alert_rate"]),
                "validation_roc_auc": _float(newest["validation_roc_auc"]),
                "degraded": bool(newest["degraded"]),
                "degraded_days": int(frame.get_column("degraded").sum()),
                "trend": markdown_preview(trend, 14),
                "report": dg.MetadataValue.url(path.resolve().as_uri()),
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
    return [feature_drift_report, build_performance_asset(settings)]
