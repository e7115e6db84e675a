"""Pandera models of the monitoring tables (validated before they are published)."""

import pandera.polars as pa
import polars as pl


class FeatureDriftRows(pa.DataFrameModel):
    """``monitoring/feature_drift``: one row per scored day and model feature (plus the score)."""

    event_date: pl.Date = pa.Field(description="Scored day.")
    model_version: str = pa.Field(description="Model that scored the day; its reference is used.")
    feature: str = pa.Field(description="Model feature, or `score` for the score distribution.")
    kind: str = pa.Field(isin=["numeric", "categorical", "score"], description="Statistic family.")
    psi: float = pa.Field(ge=0, description="Population stability index (reference bins).")
    ks: float = pa.Field(
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        description="KS statistic (numeric).",
    )
    js_distance: float = pa.Field(
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        description="Jensen-Shannon distance (categorical).",
    )
    reference_null_share: float = pa.Field(
        in_range={"min_value": 0, "max_value": 1}, description="Null share in the reference."
    )
    current_null_share: float = pa.Field(
        in_range={"min_value": 0, "max_value": 1}, description="Null share on the day."
    )
    rows: int = pa.Field(ge=0, description="Rows of the day.")
    importance: float = pa.Field(
        in_range={"min_value": 0, "max_value": 1}, description="Share of the model's gain."
    )
    drifted: bool = pa.Field(description="Over its threshold.")
    judged: bool = pa.Field(description="Enough rows to judge.")
    reason: str = pa.Field(description="Why it counts as drifted (or not judged).")

    class Config:
        """Exact columns."""

        strict = True
        unique = ["event_date", "feature"]  # noqa: RUF012 (Pandera reads it as is)


class ModelPerformanceRows(pa.DataFrameModel):
    """``monitoring/model_performance``: one row per report day (matured labels)."""

    report_date: pl.Date = pa.Field(unique=True, description="Day the report is made.")
    cohort_date: pl.Date = pa.Field(description="Newest matured scored day (report - maturity).")
    window_start: pl.Date = pa.Field(description="First day of the trailing window.")
    model_version: str = pa.Field(description="Model(s) that scored the cohort.")
    rows: int = pa.Field(ge=0, description="Scored transactions of the cohort day.")
    frauds: int = pa.Field(ge=0, description="Of which reported as fraud by the report day.")
    alerts: int = pa.Field(ge=0, description="Of which flagged.")
    roc_auc: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Cohort ROC-AUC."
    )
    pr_auc: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Cohort PR-AUC."
    )
    precision: float = pa.Field(
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        description="Alerts that were fraud.",
    )
    recall: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Frauds alerted."
    )
    alert_rate: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Share flagged."
    )
    window_rows: int = pa.Field(ge=0, description="Rows of the trailing window.")
    window_frauds: int = pa.Field(ge=0, description="Frauds of the trailing window.")
    window_alerts: int = pa.Field(ge=0, description="Alerts of the trailing window.")
    window_roc_auc: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Trailing ROC-AUC."
    )
    window_pr_auc: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Trailing PR-AUC."
    )
    window_precision: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Trailing precision."
    )
    window_recall: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Trailing recall."
    )
    window_alert_rate: float = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}, description="Trailing alert rate."
    )
    validation_roc_auc: float = pa.Field(
        nullable=True, description="The model's validation ROC-AUC."
    )
    margin: float = pa.Field(ge=0, description="Allowed drop before `degraded`.")
    degraded: bool = pa.Field(description="Trailing ROC-AUC < validation ROC-AUC - margin.")

    class Config:
        """Exact columns."""

        strict = True
