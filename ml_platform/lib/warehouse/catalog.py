"""What the warehouse holds: every schema, table and column, with the comment analysts read.

This catalog is the single source of the warehouse's documentation: the build creates each
table with exactly these columns, in this order, puts every comment on it with DuckDB's
``COMMENT ON`` (and refuses to publish a table or column without one), the Dagster assets
take their column schemas from it, and ``catalog_markdown`` prints the README's table. Column
comments of tables copied from the lake come from the Pandera models that validate those
tables, so the warehouse says what the lake's contracts say.
"""

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from ml_platform.lib.features.schemas import CustomerDaily, MerchantDaily
from ml_platform.lib.monitoring.schemas import FeatureDriftRows, ModelPerformanceRows
from ml_platform.lib.staging.schemas import SilverCustomers, SilverLabels, SilverTransactions

_UTC = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, str] = {
    "lake": "The silver tables of the Delta lake: deduplicated, typed, validated.",
    "features": "Daily entity snapshots the model's features come from.",
    "ml": "Batch scores, registered model versions with their metrics and aliases, and "
    "training runs (from the MLflow registry and tracking store).",
    "monitoring": "Feature drift and matured model performance history, one row per day.",
    "analytics": "Daily KPIs (volume, amount, matured fraud rate, alert rate, alert precision), "
    "overall, by channel and by merchant category; and what this build was made from.",
}


_DUCKDB_TYPES = {
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Int8: "TINYINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}


@dataclass(frozen=True)
class Column:
    """One column: its name, its type and what it means."""

    name: str
    dtype: pl.DataType
    comment: str

    @property
    def sql_type(self) -> str:
        """The DuckDB type the column has in the warehouse."""
        if isinstance(self.dtype, pl.Datetime):
            return "TIMESTAMP WITH TIME ZONE" if self.dtype.time_zone else "TIMESTAMP"
        return _DUCKDB_TYPES[type(self.dtype)]


@dataclass(frozen=True)
class WarehouseTable:
    """One warehouse table.

    Attributes:
        schema: DuckDB schema (``lake``, ``features``, ``ml``, ``monitoring``, ``analytics``).
        name: Table name within the schema.
        comment: What one row is and where it comes from.
        columns: Every column, in order.
        source: Where the rows come from (a lake table, ``mlflow``, or ``derived``).
    """

    schema: str
    name: str
    comment: str
    columns: tuple[Column, ...]
    source: str

    @property
    def qualified(self) -> str:
        """``schema.name``, as a query names it."""
        return f"{self.schema}.{self.name}"

    @property
    def polars_schema(self) -> pl.Schema:
        """Column names and types, in order."""
        return pl.Schema({c.name: c.dtype for c in self.columns})


def _columns(model: type[pa.DataFrameModel], only: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """Columns (type and description) of a Pandera model, optionally a subset in that order."""
    schema = model.to_schema()
    columns = []
    for name in only or tuple(schema.columns):
        dtype = schema.columns[name].dtype.type
        dtype = dtype() if isinstance(dtype, type) else dtype  # pl.Date vs pl.Date()
        columns.append(Column(name, dtype, schema.columns[name].description or ""))
    return tuple(columns)


def _c(name: str, dtype: pl.DataType, comment: str) -> Column:
    return Column(name, dtype, comment)


_SCORE_COLUMNS = (
    _c("transaction_id", pl.String(), "Scored transaction (joins lake.transactions)."),
    _c("customer_id", pl.Int64(), "Card holder."),
    _c("merchant_id", pl.Int64(), "Merchant."),
    _c("event_timestamp", _UTC, "Event time (UTC)."),
    _c("event_date", pl.Date(), "UTC day of the transaction (the scoring partition)."),
    _c("score", pl.Float64(), "Fraud score of the model, in [0, 1]."),
    _c("flagged", pl.Boolean(), "An alert: score at or above the decision threshold."),
    _c("model_version", pl.String(), "Registered version that scored it (ml.model_versions)."),
)

_METRICS = ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "log_loss", "calibration_error")
_METRIC_TEXT = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "recall_at_1pct_fpr": "recall at 1 % false-positive rate",
    "log_loss": "log loss",
    "calibration_error": "expected calibration error",
}
_SPLIT_TEXT = {
    "validation": "on the validation split (matured labels)",
    "test": "on the held-out test split (matured labels)",
}

_MODEL_VERSION_COLUMNS = (
    _c("model_name", pl.String(), "Registered model name."),
    _c("version", pl.String(), "Registry version (joins ml.transaction_scores.model_version)."),
    _c("created_at", _UTC, "When the version was registered."),
    _c("aliases", pl.String(), "Aliases it holds now, comma-separated (champion, challenger)."),
    _c("is_champion", pl.Boolean(), "Holds the `champion` alias: the model that scores."),
    _c("is_challenger", pl.Boolean(), "Holds the `challenger` alias: the newest trained."),
    _c("run_id", pl.String(), "MLflow run that trained it (ml.training_runs)."),
    _c("trained_as_of", _UTC, "Labels were known up to this moment when it was trained."),
    *(
        _c(f"{split}_{metric}", pl.Float64(), f"{_METRIC_TEXT[metric]} {_SPLIT_TEXT[split]}.")
        for split in ("validation", "test")
        for metric in _METRICS
    ),
    _c("gate_outcome", pl.String(), "Champion gate: promoted, kept or superseded (null: none)."),
    _c("gate_reason", pl.String(), "Why the gate decided so."),
    _c("feature_service", pl.String(), "Feast feature service it was trained on."),
    _c("code_version", pl.String(), "Code it was trained with (git commit or package version)."),
)

_TRAINING_RUN_COLUMNS = (
    _c("run_id", pl.String(), "MLflow run id."),
    _c("run_name", pl.String(), "MLflow run name (model and label cut-off day)."),
    _c("status", pl.String(), "MLflow run status (FINISHED, FAILED, RUNNING)."),
    _c("started_at", _UTC, "Run start."),
    _c("ended_at", _UTC, "Run end (null while running)."),
    _c("duration_seconds", pl.Float64(), "ended_at - started_at, in seconds."),
    _c("registered_version", pl.String(), "Model version it registered (null: none)."),
    _c("trained_as_of", _UTC, "Label cut-off: chargebacks reported before it were used."),
    _c("maturity_days", pl.Int64(), "Label maturity (days) used to select training examples."),
    _c("train_rows", pl.Int64(), "Rows of the train split."),
    _c("train_frauds", pl.Int64(), "Frauds of the train split."),
    _c("validation_roc_auc", pl.Float64(), "ROC-AUC on the validation split."),
    _c("test_roc_auc", pl.Float64(), "ROC-AUC on the test split."),
    _c("best_iteration", pl.Int64(), "Boosting rounds kept by early stopping."),
    _c("train_seconds", pl.Float64(), "Time spent fitting the model."),
    _c("seed", pl.Int64(), "Seed of the training."),
    _c("dagster_run_id", pl.String(), "Dagster run that trained it (null: outside Dagster)."),
    _c("code_version", pl.String(), "Code it was trained with."),
)

_KPI_COLUMNS = (
    _c("transactions", pl.Int64(), "Transactions (lake.transactions)."),
    _c("amount", pl.Float64(), "Total amount of the transactions."),
    _c("mean_amount", pl.Float64(), "Mean amount of a transaction."),
    _c("scored_transactions", pl.Int64(), "Transactions with a score (ml.transaction_scores)."),
    _c("alerts", pl.Int64(), "Scored transactions flagged (score >= decision threshold)."),
    _c("alert_rate", pl.Float64(), "alerts / scored_transactions (null: none scored)."),
    _c("frauds_reported_to_date", pl.Int64(), "Transactions with a chargeback reported so far."),
    _c(
        "labels_as_of",
        _UTC,
        "Label horizon of the day: end of event_date + label_maturity_days (UTC); chargebacks "
        "reported before it count for the matured figures.",
    ),
    _c("matured", pl.Boolean(), "The build's data reaches labels_as_of: matured figures are set."),
    _c(
        "matured_frauds",
        pl.Int64(),
        "Transactions with a chargeback reported before labels_as_of (null: not matured).",
    ),
    _c("matured_fraud_rate", pl.Float64(), "matured_frauds / transactions (null: not matured)."),
    _c(
        "true_alerts",
        pl.Int64(),
        "Alerts with a chargeback before labels_as_of (null: not matured).",
    ),
    _c(
        "alert_precision",
        pl.Float64(),
        "true_alerts / alerts: share of alerts that were fraud, on matured labels (null: not "
        "matured or no alerts). Equals monitoring.model_performance.precision of that cohort.",
    ),
    _c(
        "alert_recall",
        pl.Float64(),
        "true_alerts / matured frauds among scored transactions (null: not matured, no fraud).",
    ),
)
_KPI_COMMENT = (
    "Daily KPIs{by}: volume, amount, alert rate, and on matured labels the fraud rate and the "
    "alerts' precision and recall. A day matures label_maturity_days after it ends; until then "
    "its matured_* figures are null, never a low number from chargebacks not reported yet."
)


def _kpi_table(name: str, by: tuple[Column, ...], text: str) -> WarehouseTable:
    return WarehouseTable(
        "analytics",
        name,
        _KPI_COMMENT.format(by=text),
        (_c("event_date", pl.Date(), "UTC day of the transactions."), *by, *_KPI_COLUMNS),
        "derived",
    )


LAKE_TRANSACTIONS = WarehouseTable(
    "lake",
    "transactions",
    "Card transactions, one row per transaction_id (silver/transactions).",
    _columns(SilverTransactions),
    "silver/transactions",
)
LAKE_LABELS = WarehouseTable(
    "lake",
    "labels",
    "Fraud labels from chargebacks, one row per reported transaction (silver/labels); a "
    "transaction without a row is not known to be fraud (yet).",
    _columns(SilverLabels),
    "silver/labels",
)
LAKE_CUSTOMERS = WarehouseTable(
    "lake",
    "customers",
    "Customer dimension, latest landed version of each customer (silver/customers).",
    _columns(SilverCustomers),
    "silver/customers",
)
CUSTOMER_DAILY = WarehouseTable(
    "features",
    "customer_daily",
    "Per-customer behaviour over 1/7/30-day windows, one row per customer and day, as of the "
    "end of feature_date (features/customer_daily).",
    _columns(CustomerDaily),
    "features/customer_daily",
)
MERCHANT_DAILY = WarehouseTable(
    "features",
    "merchant_daily",
    "Per-merchant volume, customers and reported fraud over 7/30-day windows, one row per "
    "merchant and day (features/merchant_daily).",
    _columns(MerchantDaily),
    "features/merchant_daily",
)
TRANSACTION_SCORES = WarehouseTable(
    "ml",
    "transaction_scores",
    "Every scored transaction: score, alert flag and the champion version that scored it "
    "(ml/transaction_scores; the model inputs stay in the lake table).",
    _SCORE_COLUMNS,
    "ml/transaction_scores",
)
MODEL_VERSIONS = WarehouseTable(
    "ml",
    "model_versions",
    "Registered versions of the fraud model (MLflow registry): aliases now held, metrics on "
    "matured validation and test splits, and the champion gate's decision.",
    _MODEL_VERSION_COLUMNS,
    "mlflow",
)
TRAINING_RUNS = WarehouseTable(
    "ml",
    "training_runs",
    "Training runs of the fraud_detection experiment (MLflow tracking): when, on what, and "
    "how well.",
    _TRAINING_RUN_COLUMNS,
    "mlflow",
)
FEATURE_DRIFT = WarehouseTable(
    "monitoring",
    "feature_drift",
    "Drift of each model feature (and of the score) per scored day, against the training "
    "reference of the model that scored it (monitoring/feature_drift).",
    _columns(FeatureDriftRows),
    "monitoring/feature_drift",
)
MODEL_PERFORMANCE = WarehouseTable(
    "monitoring",
    "model_performance",
    "Model performance on matured labels, one row per report day: the cohort of report_date - "
    "label_maturity_days and a trailing window (monitoring/model_performance).",
    _columns(ModelPerformanceRows),
    "monitoring/model_performance",
)
DAILY_KPIS = _kpi_table("daily_kpis", (), "")
DAILY_KPIS_BY_CHANNEL = _kpi_table(
    "daily_kpis_by_channel",
    (_c("channel", pl.String(), "Payment channel: online, pos or atm."),),
    " by channel",
)
DAILY_KPIS_BY_CATEGORY = _kpi_table(
    "daily_kpis_by_category",
    (_c("merchant_category", pl.String(), "Merchant category."),),
    " by merchant category",
)
BUILD_INFO = WarehouseTable(
    "analytics",
    "build_info",
    "One row: when this warehouse was built, its data clock, the settings its KPIs used and "
    "the Delta versions it was built from.",
    (
        _c("built_at", _UTC, "When the build finished (wall clock, UTC)."),
        _c("data_as_of", _UTC, "The data's clock: end of the newest day in lake.transactions."),
        _c("label_maturity_days", pl.Int64(), "Days after which a day's labels count as known."),
        _c(
            "decision_threshold", pl.Float64(), "Score at or above which a transaction is an alert."
        ),
        _c("model_name", pl.String(), "Registered model the ml tables describe."),
        _c("source_versions", pl.String(), "JSON: Delta table -> version read (null: missing)."),
        _c("dagster_run_id", pl.String(), "Dagster run that built it (null: built outside)."),
    ),
    "derived",
)

LAKE_SOURCED = (
    LAKE_TRANSACTIONS,
    LAKE_LABELS,
    LAKE_CUSTOMERS,
    CUSTOMER_DAILY,
    MERCHANT_DAILY,
    TRANSACTION_SCORES,
    FEATURE_DRIFT,
    MODEL_PERFORMANCE,
)
KPI_TABLES = (DAILY_KPIS, DAILY_KPIS_BY_CHANNEL, DAILY_KPIS_BY_CATEGORY)
TABLES: tuple[WarehouseTable, ...] = (
    LAKE_TRANSACTIONS,
    LAKE_LABELS,
    LAKE_CUSTOMERS,
    CUSTOMER_DAILY,
    MERCHANT_DAILY,
    TRANSACTION_SCORES,
    MODEL_VERSIONS,
    TRAINING_RUNS,
    FEATURE_DRIFT,
    MODEL_PERFORMANCE,
    *KPI_TABLES,
    BUILD_INFO,
)


def catalog_markdown() -> str:
    """The README's table of the warehouse: schemas, tables and every column's comment."""
    lines = ["| schema.table | column | type | comment |", "|---|---|---|---|"]
    for table in TABLES:
        lines.append(f"| **`{table.qualified}`** | | | {_md(table.comment)} |")
        for column in table.columns:
            lines.append(f"| | `{column.name}` | {column.sql_type} | {_md(column.comment)} |")
    schemas = "\n".join(f"- `{name}`: {text}" for name, text in SCHEMAS.items())
    return f"{schemas}\n\n" + "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
