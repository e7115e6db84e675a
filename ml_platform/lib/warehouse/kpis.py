"""Daily KPIs for analysts: volume, amount, alert rate, and fraud figures on matured labels.

Chargebacks arrive days to weeks after a transaction, so a day's fraud count keeps growing
long after the day. The warehouse therefore reports fraud figures on *matured* labels only,
with a fixed horizon per day, exactly as ``monitoring/model_performance`` does:

- ``labels_as_of`` of day D is the end of day ``D + label_maturity_days`` (UTC). A
  transaction of D counts as fraud when a chargeback for it was reported before then.
- Day D is *matured* when the data reaches that horizon: ``labels_as_of <= data_as_of``,
  where ``data_as_of`` is the end of the newest day the lake holds (the data's clock, not the
  wall clock, so replayed history and production read the same).
- Until then, ``matured_frauds``, ``matured_fraud_rate``, ``true_alerts``,
  ``alert_precision`` and ``alert_recall`` are null: a recent day never shows a low fraud
  rate or a low precision just because its chargebacks have not been reported yet.
- **Alert precision** of D = alerts of D (scored transactions flagged at the decision
  threshold) with a chargeback reported before ``labels_as_of``, divided by all alerts of D.
  Because the horizon is fixed, a matured day's precision never changes afterwards, and it
  equals ``monitoring.model_performance.precision`` of the report whose cohort is D. Fraud
  reported after the horizon (or never) counts as not fraud, so it is a lower bound of the
  true precision, biased the same way for every day (comparable across days and channels).

Counts are additive (sum them to roll up); rates are not (recompute them from the counts).
"""

import datetime as dt
from collections.abc import Sequence

import polars as pl

UTC = dt.UTC


def data_as_of(transactions: pl.LazyFrame) -> dt.datetime | None:
    """End (UTC midnight after) of the newest ``event_date``; ``None`` without transactions."""
    newest = transactions.select(pl.col("event_date").max()).collect().item()
    if newest is None:
        return None
    return dt.datetime.combine(newest + dt.timedelta(days=1), dt.time(), UTC)


def daily_kpis(
    transactions: pl.LazyFrame,
    scores: pl.LazyFrame,
    labels: pl.LazyFrame,
    maturity_days: int,
    as_of: dt.datetime,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """One row per day (and per value of ``by``) with the KPIs described in the module.

    Args:
        transactions: ``lake.transactions`` (``transaction_id``, ``event_date``, ``amount`` and
            the ``by`` columns).
        scores: ``ml.transaction_scores`` (``transaction_id``, ``flagged``).
        labels: ``lake.labels`` (``transaction_id``, ``is_fraud``, ``reported_at``).
        maturity_days: ``label_maturity_days``.
        as_of: The data's clock (``data_as_of``): labels reported at or after it are unknown.
        by: Extra grouping columns (``channel``, ``merchant_category``).

    Returns:
        ``event_date``, the ``by`` columns, then the KPI columns of the catalog, sorted.
    """
    keys = ["event_date", *by]
    known = labels.filter(pl.col("is_fraud") & (pl.col("reported_at") < as_of)).select(
        "transaction_id", "reported_at"
    )
    rows = (
        transactions.select("transaction_id", "amount", *keys)
        .join(scores.select("transaction_id", "flagged"), on="transaction_id", how="left")
        .join(known, on="transaction_id", how="left")
        .with_columns(
            pl.col("flagged").is_not_null().alias("scored"),
            pl.col("flagged").fill_null(False),
            (pl.col("event_date") + pl.duration(days=maturity_days + 1))
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
            .alias("labels_as_of"),
        )
        .with_columns(
            (pl.col("reported_at") < pl.col("labels_as_of")).fill_null(False).alias("fraud")
        )
    )
    daily = (
        rows.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("transactions"),
            pl.col("amount").sum().alias("amount"),
            pl.col("amount").mean().alias("mean_amount"),
            pl.col("scored").sum().cast(pl.Int64).alias("scored_transactions"),
            pl.col("flagged").sum().cast(pl.Int64).alias("alerts"),
            pl.col("reported_at")
            .is_not_null()
            .sum()
            .cast(pl.Int64)
            .alias("frauds_reported_to_date"),
            pl.col("labels_as_of").first(),
            pl.col("fraud").sum().cast(pl.Int64).alias("_frauds"),
            (pl.col("fraud") & pl.col("flagged")).sum().cast(pl.Int64).alias("_true_alerts"),
            (pl.col("fraud") & pl.col("scored")).sum().cast(pl.Int64).alias("_scored_frauds"),
        )
        .with_columns((pl.col("labels_as_of") <= as_of).alias("matured"))
    )
    matured = pl.col("matured")
    return (
        daily.with_columns(
            _ratio("alerts", "scored_transactions").alias("alert_rate"),
            pl.when(matured).then(pl.col("_frauds")).alias("matured_frauds"),
            pl.when(matured).then(_ratio("_frauds", "transactions")).alias("matured_fraud_rate"),
            pl.when(matured).then(pl.col("_true_alerts")).alias("true_alerts"),
            pl.when(matured).then(_ratio("_true_alerts", "alerts")).alias("alert_precision"),
            pl.when(matured).then(_ratio("_true_alerts", "_scored_frauds")).alias("alert_recall"),
        )
        .select(
            *keys,
            "transactions",
            "amount",
            "mean_amount",
            "scored_transactions",
            "alerts",
            "alert_rate",
            "frauds_reported_to_date",
            "labels_as_of",
            "matured",
            "matured_frauds",
            "matured_fraud_rate",
            "true_alerts",
            "alert_precision",
            "alert_recall",
        )
        .sort(keys)
        .collect()
    )


def _ratio(numerator: str, denominator: str) -> pl.Expr:
    """``numerator / denominator``, null when the denominator is 0."""
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .cast(pl.Float64)
    )
