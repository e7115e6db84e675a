"""How well the champion did on transactions whose labels have matured.

A transaction scored on day ``d`` has a trusted label once ``label_maturity_days`` have
passed: the performance report made on day ``D`` evaluates the cohort of day
``D - maturity`` (labels as known at the end of ``D``) and a trailing window of
``window_days`` cohorts pooled together (a single day holds too few frauds for a stable
ROC-AUC). ``degraded`` compares the trailing ROC-AUC with the champion's validation ROC-AUC.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ml_platform.lib.training.metrics import pr_auc, roc_auc

METRICS = ("roc_auc", "pr_auc", "precision", "recall", "alert_rate")


@dataclass(frozen=True)
class CohortWindow:
    """Which scored days a report made on ``report_day`` evaluates.

    Attributes:
        report_day: Day the report is made (labels known up to its end).
        cohort_day: The newest matured day (``report_day - maturity``).
        window_start: First cohort day of the trailing window (inclusive).
    """

    report_day: dt.date
    cohort_day: dt.date
    window_start: dt.date

    @classmethod
    def of(cls, report_day: dt.date, maturity_days: int, window_days: int) -> "CohortWindow":
        """The cohorts a report made on ``report_day`` evaluates."""
        cohort = report_day - dt.timedelta(days=maturity_days)
        return cls(report_day, cohort, cohort - dt.timedelta(days=window_days - 1))

    @property
    def labels_as_of(self) -> dt.datetime:
        """Chargebacks reported before this moment count (end of the report day, UTC)."""
        return dt.datetime.combine(self.report_day + dt.timedelta(days=1), dt.time(), dt.UTC)


def matured_labels(scores: pl.DataFrame, labels: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """Scored rows with their label as known at ``as_of`` (1 = a chargeback reported by then).

    Args:
        scores: Rows of ``ml/transaction_scores`` (``transaction_id``, ``event_date``, ``score``,
            ``flagged``, ``model_version``).
        labels: ``silver/labels`` (``transaction_id``, ``is_fraud``, ``reported_at``).
        as_of: Reports at or after this moment are not known yet.
    """
    known = labels.filter(pl.col("is_fraud") & (pl.col("reported_at") < as_of)).select(
        "transaction_id", pl.lit(1, dtype=pl.Int8).alias("label")
    )
    return scores.join(known, on="transaction_id", how="left").with_columns(
        pl.col("label").fill_null(0)
    )


def performance_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Ranking and alerting quality of one window.

    Ranking metrics are ``None`` when the window lacks one class (no frauds reported, or
    no rows): they are undefined there, not zero.

    Returns:
        ``rows``, ``frauds``, ``alerts``, ``roc_auc``, ``pr_auc``, ``precision`` (share of
        alerts that were fraud; ``None`` without alerts), ``recall`` (share of frauds
        alerted; ``None`` without frauds) and ``alert_rate``.
    """
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(scores, dtype=np.float64)
    flagged = p >= threshold
    rows, frauds, alerts = int(y.size), int(y.sum()), int(flagged.sum())
    both = 0 < frauds < rows
    caught = int((flagged & (y == 1)).sum())
    return {
        "rows": rows,
        "frauds": frauds,
        "alerts": alerts,
        "roc_auc": roc_auc(y, p) if both else None,
        "pr_auc": pr_auc(y, p) if both else None,
        "precision": caught / alerts if alerts else None,
        "recall": caught / frauds if frauds else None,
        "alert_rate": alerts / rows if rows else None,
    }


def performance_row(
    window: CohortWindow,
    labelled: pl.DataFrame,
    threshold: float,
    validation_roc_auc: float | None,
    margin: float,
) -> dict[str, Any]:
    """The report of one day: the newest cohort, the trailing window, and the verdict.

    Args:
        window: The cohorts evaluated.
        labelled: ``matured_labels`` output covering at least the trailing window.
        threshold: The decision threshold (score at or above it is an alert).
        validation_roc_auc: The scoring champion's validation ROC-AUC (``None`` if unknown).
        margin: Drop below ``validation_roc_auc`` that counts as degraded.

    Returns:
        One flat row: ``report_date``, ``cohort_date``, ``window_start``, ``model_version``
        (the newest cohort's, comma-joined if several), cohort metrics (``METRICS``, ``rows``,
        ``frauds``, ``alerts``), the same for the window prefixed ``window_``,
        ``validation_roc_auc``, ``margin`` and ``degraded``.
    """
    in_window = labelled.filter(
        pl.col("event_date").is_between(window.window_start, window.cohort_day)
    )
    cohort = in_window.filter(pl.col("event_date") == window.cohort_day)
    cohort_metrics = performance_metrics(
        cohort.get_column("label").to_numpy(), cohort.get_column("score").to_numpy(), threshold
    )
    window_metrics = performance_metrics(
        in_window.get_column("label").to_numpy(),
        in_window.get_column("score").to_numpy(),
        threshold,
    )
    trailing = window_metrics["roc_auc"]
    degraded = (
        trailing is not None
        and validation_roc_auc is not None
        and trailing < validation_roc_auc - margin
    )
    versions = sorted(set(cohort.get_column("model_version").to_list()))
    return {
        "report_date": window.report_day,
        "cohort_date": window.cohort_day,
        "window_start": window.window_start,
        "model_version": ",".join(versions),
        **cohort_metrics,
        **{f"window_{key}": value for key, value in window_metrics.items()},
        "validation_roc_auc": validation_roc_auc,
        "margin": margin,
        "degraded": bool(degraded),
    }


PERFORMANCE_SCHEMA: dict[str, pl.DataType] = {
    "report_date": pl.Date(),
    "cohort_date": pl.Date(),
    "window_start": pl.Date(),
    "model_version": pl.String(),
    **{
        f"{prefix}{key}": dtype
        for prefix in ("", "window_")
        for key, dtype in (
            ("rows", pl.Int64()),
            ("frauds", pl.Int64()),
            ("alerts", pl.Int64()),
            *((metric, pl.Float64()) for metric in METRICS),
        )
    },
    "validation_roc_auc": pl.Float64(),
    "margin": pl.Float64(),
    "degraded": pl.Boolean(),
}


def performance_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of ``performance_row`` as a frame with fixed dtypes (even when values are null)."""
    return pl.DataFrame(rows, schema=PERFORMANCE_SCHEMA)
