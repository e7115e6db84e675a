"""Pandera (polars backend) contracts of the silver tables."""

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from ml_platform.lib.ingestion.sources import CHANNELS

_UTC = {"time_zone": "UTC", "time_unit": "us"}


class SilverTransactions(pa.DataFrameModel):
    """One row per card transaction, deduplicated by transaction_id."""

    transaction_id: str = pa.Field(unique=True, description="Unique transaction id.")
    customer_id: int = pa.Field(ge=0, description="Card holder.")
    merchant_id: int = pa.Field(ge=0, description="Merchant.")
    amount: float = pa.Field(gt=0, description="Amount (> 0).")
    merchant_category: str = pa.Field(str_length={"min_value": 1}, description="Category.")
    channel: str = pa.Field(isin=list(CHANNELS), description="online, pos or atm.")
    country: str = pa.Field(str_matches=r"^[A-Z]{2}$", description="ISO-2 merchant country.")
    event_timestamp: DateTime = pa.Field(dtype_kwargs=_UTC, description="Event time (UTC).")
    event_date: pl.Date = pa.Field(description="UTC date of event_timestamp (partition).")
    source_file: str = pa.Field(description="Landing file the row came from.")
    landed_at: DateTime = pa.Field(dtype_kwargs=_UTC, description="When that file landed.")

    class Config:
        """Exactly these columns, no coercion."""

        strict = True
        coerce = False


class SilverLabels(pa.DataFrameModel):
    """One row per transaction reported as fraud."""

    transaction_id: str = pa.Field(unique=True, description="Charged-back transaction.")
    is_fraud: bool = pa.Field(description="Always true: absence of a row means no report yet.")
    reported_at: DateTime = pa.Field(dtype_kwargs=_UTC, description="First chargeback report.")
    chargeback_reports: int = pa.Field(ge=1, description="Number of reports received.")
    customer_id: int = pa.Field(nullable=True, description="Customer of the transaction.")
    merchant_id: int = pa.Field(nullable=True, description="Merchant of the transaction.")
    event_timestamp: DateTime = pa.Field(
        nullable=True, dtype_kwargs=_UTC, description="When the transaction happened."
    )

    class Config:
        """Exactly these columns, no coercion."""

        strict = True
        coerce = False


class SilverCustomers(pa.DataFrameModel):
    """Latest version of each customer."""

    customer_id: int = pa.Field(unique=True, ge=0, description="Card holder.")
    signup_date: pl.Date = pa.Field(description="Account opening day.")
    home_country: str = pa.Field(str_matches=r"^[A-Z]{2}$", description="ISO-2 home country.")
    credit_limit: float = pa.Field(ge=0, description="Credit limit (>= 0).")
    updated_at: DateTime = pa.Field(dtype_kwargs=_UTC, description="When this version landed.")
    versions: int = pa.Field(ge=1, description="Versions of the customer seen so far.")

    class Config:
        """Exactly these columns, no coercion."""

        strict = True
        coerce = False
