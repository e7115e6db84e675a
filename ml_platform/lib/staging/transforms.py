"""Bronze → silver: deduplicated, typed, one row per business key."""

import polars as pl

SILVER_TRANSACTIONS = "silver/transactions"
SILVER_LABELS = "silver/labels"
SILVER_CUSTOMERS = "silver/customers"

TRANSACTION_COLUMNS = [
    "transaction_id",
    "customer_id",
    "merchant_id",
    "amount",
    "merchant_category",
    "channel",
    "country",
    "event_timestamp",
    "event_date",
    "source_file",
    "landed_at",
]
# What labels borrow from silver transactions.
TRANSACTION_CONTEXT_SCHEMA = pl.Schema(
    {
        "transaction_id": pl.String(),
        "customer_id": pl.Int64(),
        "merchant_id": pl.Int64(),
        "event_timestamp": pl.Datetime("us", "UTC"),
    }
)
_LATEST_FIRST = ["landed_at", "source_file", "source_row"]


def latest_per_key(frame: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Keep, for each ``key``, the row landed last (ties: later file name, then later row)."""
    return frame.sort(_LATEST_FIRST, descending=True).unique(key, keep="first")


def silver_transactions(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """One row per transaction_id: the latest landed version (a corrected file wins)."""
    return (
        latest_per_key(bronze, "transaction_id")
        .select(TRANSACTION_COLUMNS)
        .sort("event_timestamp", "transaction_id")
    )


def silver_labels(bronze_chargebacks: pl.LazyFrame, transactions: pl.LazyFrame) -> pl.LazyFrame:
    """One row per charged-back transaction: it is fraud, known from the first report on.

    The transaction's customer, merchant and time are attached (null for a chargeback whose
    transaction is unknown), so features can count reported fraud per entity without scanning
    the transaction history.
    """
    context = transactions.select(TRANSACTION_CONTEXT_SCHEMA.names())
    return (
        bronze_chargebacks.group_by("transaction_id")
        .agg(
            pl.col("reported_at").min(),
            pl.len().cast(pl.Int64).alias("chargeback_reports"),
        )
        .with_columns(pl.lit(True).alias("is_fraud"))
        .join(context, on="transaction_id", how="left")
        .select(
            "transaction_id",
            "is_fraud",
            "reported_at",
            "chargeback_reports",
            "customer_id",
            "merchant_id",
            "event_timestamp",
        )
        .sort("reported_at", "transaction_id")
    )


def silver_customers(bronze_customers: pl.LazyFrame) -> pl.LazyFrame:
    """Latest version of each customer (slowly changing dimension, type 1)."""
    versions = bronze_customers.group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("versions")
    )
    return (
        latest_per_key(bronze_customers, "customer_id")
        .join(versions, on="customer_id")
        .select(
            "customer_id",
            "signup_date",
            "home_country",
            "credit_limit",
            pl.col("landed_at").alias("updated_at"),
            "versions",
        )
        .sort("customer_id")
    )
