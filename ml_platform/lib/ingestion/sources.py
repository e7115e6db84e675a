"""The landing sources: their columns, types and validation rules, declared once.

A landing file is read with every column as text (or as the types a Parquet file carries);
each rule below turns one column into its typed value plus a per-row error message, so a bad
value quarantines its row with a precise reason instead of failing the file.
"""

from dataclasses import dataclass
from enum import Enum

import polars as pl

UTC_TIMESTAMP = pl.Datetime("us", "UTC")


class Kind(Enum):
    """How a column is parsed and checked."""

    TEXT = "text"
    INT = "int"
    POSITIVE_FLOAT = "positive_float"
    NON_NEGATIVE_FLOAT = "non_negative_float"
    UTC_TIMESTAMP = "utc_timestamp"
    DATE = "date"
    ENUM = "enum"
    COUNTRY = "country"


_DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.INT: pl.Int64(),
    Kind.POSITIVE_FLOAT: pl.Float64(),
    Kind.NON_NEGATIVE_FLOAT: pl.Float64(),
    Kind.UTC_TIMESTAMP: UTC_TIMESTAMP,
    Kind.DATE: pl.Date(),
    Kind.ENUM: pl.String(),
    Kind.COUNTRY: pl.String(),
}


@dataclass(frozen=True)
class Column:
    """One required landing column."""

    name: str
    kind: Kind
    allowed: tuple[str, ...] = ()
    description: str = ""

    @property
    def dtype(self) -> pl.DataType:
        """The typed column's Polars dtype."""
        return _DTYPES[self.kind]


@dataclass(frozen=True)
class Source:
    """A landing source: a folder of files with one schema.

    Attributes:
        name: Folder under the landing root, and the bronze table's noun.
        columns: Required columns, in canonical order.
        date_column: For event-date partitioned sources, the timestamp the partition date comes
            from; ``None`` for sources ingested file by file.
        description: What a row is.
    """

    name: str
    columns: tuple[Column, ...]
    date_column: str | None
    description: str

    @property
    def column_names(self) -> list[str]:
        """Required column names in canonical order."""
        return [c.name for c in self.columns]

    @property
    def schema(self) -> pl.Schema:
        """Typed schema of the source's columns."""
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def partitioned(self) -> bool:
        """Whether the bronze table is partitioned by event date."""
        return self.date_column is not None


CHANNELS = ("atm", "online", "pos")

TRANSACTIONS = Source(
    name="transactions",
    columns=(
        Column("transaction_id", Kind.TEXT, description="Unique id of the card transaction."),
        Column("customer_id", Kind.INT, description="Card holder."),
        Column("merchant_id", Kind.INT, description="Merchant that took the payment."),
        Column("amount", Kind.POSITIVE_FLOAT, description="Amount in account currency (> 0)."),
        Column("merchant_category", Kind.TEXT, description="Merchant category, lower_snake."),
        Column("channel", Kind.ENUM, CHANNELS, description="online, pos or atm."),
        Column("country", Kind.COUNTRY, description="ISO-3166 alpha-2 country of the merchant."),
        Column("event_timestamp", Kind.UTC_TIMESTAMP, description="When the card was used (UTC)."),
    ),
    date_column="event_timestamp",
    description="One row per card transaction.",
)

CHARGEBACKS = Source(
    name="chargebacks",
    columns=(
        Column("transaction_id", Kind.TEXT, description="Disputed transaction."),
        Column("reported_at", Kind.UTC_TIMESTAMP, description="When the chargeback arrived (UTC)."),
    ),
    date_column=None,
    description="One row per chargeback report: the transaction was fraud.",
)

CUSTOMERS = Source(
    name="customers",
    columns=(
        Column("customer_id", Kind.INT, description="Card holder."),
        Column("signup_date", Kind.DATE, description="Day the customer opened the account."),
        Column("home_country", Kind.COUNTRY, description="ISO-3166 alpha-2 home country."),
        Column("credit_limit", Kind.NON_NEGATIVE_FLOAT, description="Credit limit (>= 0)."),
    ),
    date_column=None,
    description="Customer master data; a later file may update a customer.",
)

SOURCES: dict[str, Source] = {s.name: s for s in (TRANSACTIONS, CHARGEBACKS, CUSTOMERS)}
# The order in which one scan's sources are ingested: silver labels take each chargeback's
# customer, merchant and time from silver transactions, so transactions land first (ingested
# after them, labels of the same scan would have no context: features would count no fraud).
INGESTION_ORDER: tuple[str, ...] = ("customers", "transactions", "chargebacks")
