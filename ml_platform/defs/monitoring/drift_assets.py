"""Daily feature drift, of batch-scored days and of online-scored requests.

Both compare the rows a model scored (every model input and the score) with that model's
held-out training reference: PSI over the reference bins and Kolmogorov-Smirnov for numeric
features, Jensen-Shannon distance for categorical ones, PSI of the score distribution. One
factory builds both assets so they cannot drift apart: ``monitoring/feature_drift`` reads
``ml/transaction_scores`` (what the retraining sensor acts on); ``monitoring/online_drift``
reads the scoring service's request log ``serving/online_scores`` (reported, not acted on).
"""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, pandera_column_schema
from ml_platform.defs.monitoring.common import (
    GROUP,
    Profiles,
    as_float,
    days_between,
    drift_thresholds,
    fmt,
    majority_version,
    report_path,
)
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.scoring.assets import SCORES_TABLE
from ml_platform.lib.lake import objects, predicates
from ml_platform.lib.monitoring.drift import (
    DRIFT_SCHEMA,
    FeatureDrift,
    drift_frame,
    drift_summary,
    feature_drift,
)
from ml_platform.lib.monitoring.report import drift_markdown, render_drift_report
from ml_platform.lib.monitoring.schemas import FeatureDriftRows
from ml_platform.lib.timing import Phases
from ml_platform.lib.training.matrix import model_matrix
from ml_platform.serving.config import REQUEST_LOG_TABLE
from ml_platform.settings import Settings

DRIFT_TABLE = "monitoring/feature_drift"
ONLINE_DRIFT_TABLE = "monitoring/online_drift"
_DESCRIPTION = (
    "against the training reference of the model that scored it: PSI (reference bins) and "
    "Kolmogorov-Smirnov for numeric features, Jensen-Shannon distance for categorical ones, PSI "
    "of the score distribution. One row per day and feature; a self-contained HTML report per "
    "day with reference-vs-current plots."
)


@dataclasses.dataclass(frozen=True)
class DriftSource:
    """What one drift asset reads and writes.

    Attributes:
        key: The asset.
        table: Its Delta table.
        source_key: The asset holding the scored rows.
        source_table: Their Delta table (``event_date``, ``model_version``, ``score`` and every
            model input).
        report: Folder of the HTML reports under ``reports_dir``.
        title: Heading of each report.
        what: How the reports and logs name the rows ("scored transactions").
        description: The asset's description.
        automation_condition: When it runs on its own.
        empty_ok: A window without rows is recorded as empty instead of failing the run.
    """

    key: dg.AssetKey
    table: str
    source_key: dg.AssetKey
    source_table: str
    report: str
    title: str
    what: str
    description: str
    automation_condition: dg.AutomationCondition
    empty_ok: bool = False


BATCH = DriftSource(
    key=keys.FEATURE_DRIFT,
    table=DRIFT_TABLE,
    source_key=keys.SCORES,
    source_table=SCORES_TABLE,
    report="feature_drift",
    title="Drift report",
    what="scored transactions",
    description=f"Each batch-scored day {_DESCRIPTION} The retraining sensor acts on it.",
    automation_condition=on_new_data(),
)
# The request log is written by a service, not by Dagster, so no materialization announces
# new rows: the newest complete day is checked once a day, after midnight UTC.
ONLINE = DriftSource(
    key=keys.ONLINE_DRIFT,
    table=ONLINE_DRIFT_TABLE,
    source_key=keys.ONLINE_SCORES,
    source_table=REQUEST_LOG_TABLE,
    report="online_drift",
    title="Online drift report",
    what="online-scored requests",
    description=(
        f"Each day of online scoring requests (`serving/online_scores`) {_DESCRIPTION} "
        "Reported, not acted on (the retraining sensor reads the batch drift). A day without "
        "requests is recorded as empty."
    ),
    automation_condition=(
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.cron_tick_passed("30 0 * * *", "UTC")
    ).with_label("daily at 00:30 UTC"),
    empty_ok=True,
)


@dataclasses.dataclass(frozen=True)
class DayDrift:
    """One day's drift results and where its report was written."""

    day: dt.date
    version: str
    results: list[FeatureDrift]
    path: str | Path


def build_drift_asset(source: DriftSource) -> dg.AssetsDefinition:
    """The daily drift asset of one source of scored rows."""
    check = source.key.path[-1]

    @dg.asset(
        key=source.key,
        group_name=GROUP,
        kinds={"polars", "delta", "html"},
        owners=OWNERS,
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        deps=[dg.AssetDep(source.source_key)],
        automation_condition=source.automation_condition,
        check_specs=[schema_check(check, source.key, FeatureDriftRows)],
        metadata={"dagster/column_schema": pandera_column_schema(FeatureDriftRows)},
        description=source.description,
    )
    def _drift(context: dg.AssetExecutionContext, platform: PlatformResource):
        settings = platform.settings()
        start, end = window_dates(context)
        lake = platform.lake()
        rows = (
            lake.scan(source.source_table)
            .filter(pl.col("event_date").is_between(start, end, closed="left"))
            .collect()
            if lake.exists(source.source_table)
            else pl.DataFrame()
        )
        profiles = Profiles(settings)
        reports = []
        # A day without online requests is expected (a batch-only deployment, the demo): info.
        # A batch-scored day without scores is not: a warning.
        note_missing = context.log.info if source.empty_ok else context.log.warning
        for day in days_between(start, end):
            scored = rows.filter(pl.col("event_date") == day) if rows.height else rows
            if scored.is_empty():
                note_missing(f"no {source.what} on {day}: no drift report for it")
                continue
            report = day_drift(settings, source, profiles, day, scored)
            summary = drift_summary(report.results)
            context.log.info(
                f"drift {day} vs v{report.version}: {len(summary['drifted_features'])} of "
                f"{summary['features']} features drifted, worst PSI {fmt(summary['worst_psi'])}"
                f" ({summary['worst_feature']}), report {report.path}"
            )
            reports.append(report)
        if not reports and not source.empty_ok:
            raise dg.Failure(
                description=(
                    f"no {source.what} in [{start}, {end}): materialize "
                    f"{source.source_key.to_user_string()} for these days first"
                )
            )
        frame = (
            pl.concat([drift_frame(r.results, r.day, r.version) for r in reports])
            if reports
            else pl.DataFrame(schema=DRIFT_SCHEMA)
        )
        yield from publish(
            platform,
            source.table,
            frame,
            FeatureDriftRows,
            f"{check}_schema_valid",
            predicates.date_range("event_date", start, end),
            ["event_date"],
            extra_metadata=_metadata(reports, frame),
        )

    return _drift


def _metadata(reports: list[DayDrift], frame: pl.DataFrame) -> dict[str, object]:
    if not reports:
        return {"days": 0, "note": "no scored rows in the window"}
    newest = reports[-1]
    summary = drift_summary(newest.results)
    metadata: dict[str, object] = {
        "worst_psi": as_float(summary["worst_psi"]),
        "worst_feature": str(summary["worst_feature"] or "none judged"),
        "drifted_features": len(summary["drifted_features"]),
        "drifted": dg.MetadataValue.json(summary["drifted_features"]),
        "score_psi": as_float(summary["score_psi"]),
        "model_version": newest.version,
        "report": dg.MetadataValue.url(objects.as_uri(newest.path)),
        "report_path": dg.MetadataValue.path(str(newest.path)),
        "summary": dg.MetadataValue.md(drift_markdown(newest.results)),
        "days": len(reports),
    }
    if len(reports) > 1:
        metadata["per_day"] = dg.MetadataValue.md(_per_day_table(reports))
        metadata["worst_psi"] = float(frame.filter(pl.col("kind") != "score")["psi"].max())
    return metadata


def day_drift(
    settings: Settings,
    source: DriftSource,
    profiles: Profiles,
    day: dt.date,
    scores: pl.DataFrame,
    phases: Phases | None = None,
) -> DayDrift:
    """Compare one day's scored rows with the reference of the model that scored most of them.

    ``phases``, if given, gets the seconds of each step: ``profile`` (the model's monitoring
    profile from MLflow, cached by ``profiles``), ``statistics`` (model matrix and every
    feature's drift), ``html`` (the report).
    """
    phases = phases or Phases()
    version = majority_version(scores)
    profile = profiles.get(version)
    phases.lap("profile")
    scores = scores.filter(pl.col("model_version") == version)
    matrix = model_matrix(scores)
    values = {name: matrix[name].to_numpy() for name in matrix.columns}
    score_values = scores.get_column("score").to_numpy()
    thresholds = drift_thresholds(settings)
    results = feature_drift(profile.reference, values, score_values, profile.importance, thresholds)
    if profile.trained_as_of is not None and day < profile.trained_as_of.date():
        results = _in_sample(results, profile.trained_as_of)
    phases.lap("statistics")
    path = render_drift_report(
        report_path(settings, source.report, day),
        day,
        version,
        results,
        profile.reference,
        values,
        score_values,
        thresholds,
        source.title,
    )
    phases.lap("html")
    return DayDrift(day, version, results, path)


def _per_day_table(reports: list[DayDrift]) -> str:
    lines = [
        "| day | model | drifted | worst feature | worst PSI | score PSI |",
        "|---|---|---|---|---|---|",
    ]
    for report in reports:
        summary = drift_summary(report.results)
        lines.append(
            f"| {report.day} | v{report.version} | {len(summary['drifted_features'])} | "
            f"{summary['worst_feature'] or '—'} | {fmt(summary['worst_psi'])} | "
            f"{fmt(summary['score_psi'])} |"
        )
    return "\n".join(lines)


def _in_sample(results: list[FeatureDrift], as_of: dt.datetime) -> list[FeatureDrift]:
    """Days the model was trained on are reported but never judged (they are its reference)."""
    reason = f"inside the model's training window (labels as of {as_of:%Y-%m-%d})"
    return [dataclasses.replace(r, drifted=False, judged=False, reason=reason) for r in results]


feature_drift_report = build_drift_asset(BATCH)
online_drift_report = build_drift_asset(ONLINE)
