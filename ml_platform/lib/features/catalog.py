"""Every feature the platform computes: name, type and meaning, declared once.

The feature tables, their Pandera schemas, the Feast feature views and the documentation are
all generated from these lists, so a feature cannot exist in one place and not another.

Conventions: a feature row describes an entity *as of the end of its day* ``feature_date``
(``event_timestamp`` = the next midnight, UTC); windows of ``N`` days cover the ``N`` days up to
and including ``feature_date``. Means, maxima and shares are null when the window holds no
transaction; standard deviations when it holds fewer than two.
"""

from dataclasses import dataclass
from enum import Enum

import polars as pl


class Check(Enum):
    """The value rule a feature obeys (checked by Pandera)."""

    COUNT = "count"  # integer >= 0, never null
    NON_NEGATIVE = "non_negative"  # float >= 0, never null
    NULLABLE_NON_NEGATIVE = "nullable_non_negative"  # float >= 0 or null
    SHARE = "share"  # float in [0, 1] or null
    TEXT = "text"  # string or null


@dataclass(frozen=True)
class Feature:
    """One feature column."""

    name: str
    dtype: pl.DataType
    check: Check
    description: str


CUSTOMER_WINDOWS = (1, 7, 30)
MERCHANT_WINDOWS = (7, 30)


def _customer_window_features(days: int) -> list[Feature]:
    w = f"{days}d"
    span = f"in the last {days} day(s)"
    return [
        Feature(f"tx_count_{w}", pl.Int64(), Check.COUNT, f"Transactions {span}."),
        Feature(f"amount_sum_{w}", pl.Float64(), Check.NON_NEGATIVE, f"Amount spent {span}."),
        Feature(
            f"amount_mean_{w}", pl.Float64(), Check.NULLABLE_NON_NEGATIVE, f"Mean amount {span}."
        ),
        Feature(
            f"amount_std_{w}",
            pl.Float64(),
            Check.NULLABLE_NON_NEGATIVE,
            f"Sample standard deviation of amounts {span}.",
        ),
        Feature(
            f"amount_max_{w}", pl.Float64(), Check.NULLABLE_NON_NEGATIVE, f"Largest amount {span}."
        ),
        Feature(f"distinct_merchants_{w}", pl.Int64(), Check.COUNT, f"Distinct merchants {span}."),
        Feature(
            f"distinct_categories_{w}",
            pl.Int64(),
            Check.COUNT,
            f"Distinct merchant categories {span}.",
        ),
        Feature(
            f"night_share_{w}",
            pl.Float64(),
            Check.SHARE,
            f"Share of transactions between 00:00 and 06:00 UTC {span}.",
        ),
        Feature(
            f"foreign_share_{w}",
            pl.Float64(),
            Check.SHARE,
            f"Share of transactions outside the customer's home country {span}.",
        ),
    ]


CUSTOMER_FEATURES: list[Feature] = [
    *(f for days in CUSTOMER_WINDOWS for f in _customer_window_features(days)),
    Feature(
        "days_since_prev_tx",
        pl.Float64(),
        Check.NULLABLE_NON_NEGATIVE,
        "Days from the customer's latest transaction to the end of the day; null when there was "
        "none in the last 30 days.",
    ),
    Feature(
        "days_since_signup",
        pl.Float64(),
        Check.NULLABLE_NON_NEGATIVE,
        "Days from signup to the end of the day; null for a customer missing from the customer "
        "master data.",
    ),
    Feature(
        "chargebacks_to_date",
        pl.Int64(),
        Check.COUNT,
        "Chargebacks reported so far (before the end of the day) on the customer's transactions.",
    ),
    Feature(
        "home_country",
        pl.String(),
        Check.TEXT,
        "Customer's home country (ISO-2), for the request-time is_foreign feature.",
    ),
]


def _merchant_window_features(days: int) -> list[Feature]:
    w = f"{days}d"
    span = f"in the last {days} days"
    return [
        Feature(f"merchant_tx_count_{w}", pl.Int64(), Check.COUNT, f"Transactions {span}."),
        Feature(
            f"merchant_amount_mean_{w}",
            pl.Float64(),
            Check.NULLABLE_NON_NEGATIVE,
            f"Mean amount {span}.",
        ),
        Feature(
            f"merchant_customer_share_{w}",
            pl.Float64(),
            Check.SHARE,
            f"Distinct customers per transaction {span}.",
        ),
        Feature(
            f"merchant_fraud_rate_{w}",
            pl.Float64(),
            Check.SHARE,
            f"Share of the transactions {span} with a chargeback reported before the end of "
            "the day.",
        ),
    ]


MERCHANT_FEATURES: list[Feature] = [
    f for days in MERCHANT_WINDOWS for f in _merchant_window_features(days)
]

# Columns every feature table carries besides its features.
TIMESTAMP = "event_timestamp"
FEATURE_DATE = "feature_date"


@dataclass(frozen=True)
class FeatureTable:
    """A daily entity-snapshot table."""

    name: str  # lake table, e.g. features/customer_daily; also the Feast feature view name
    entity: str  # Feast entity name
    join_key: str
    features: list[Feature]
    description: str

    @property
    def view_name(self) -> str:
        """The Feast feature view name (the table's noun)."""
        return self.name.split("/")[-1]

    @property
    def schema(self) -> pl.Schema:
        """Column order and types of the table."""
        return pl.Schema(
            {
                self.join_key: pl.Int64(),
                TIMESTAMP: pl.Datetime("us", "UTC"),
                FEATURE_DATE: pl.Date(),
                **{f.name: f.dtype for f in self.features},
            }
        )


CUSTOMER_DAILY = FeatureTable(
    name="features/customer_daily",
    entity="customer",
    join_key="customer_id",
    features=CUSTOMER_FEATURES,
    description="Per-customer behaviour over 1/7/30-day windows, one row per customer per day.",
)
MERCHANT_DAILY = FeatureTable(
    name="features/merchant_daily",
    entity="merchant",
    join_key="merchant_id",
    features=MERCHANT_FEATURES,
    description="Per-merchant volume, customers and reported fraud over 7/30-day windows.",
)
FEATURE_TABLES = (CUSTOMER_DAILY, MERCHANT_DAILY)

# Request-time features, computed from the transaction being scored (Feast on-demand view).
REQUEST_FEATURES: list[Feature] = [
    Feature("amount", pl.Float64(), Check.NON_NEGATIVE, "Transaction amount."),
    Feature(
        "amount_to_mean_30d",
        pl.Float64(),
        Check.NULLABLE_NON_NEGATIVE,
        "Amount divided by the customer's 30-day mean amount (null without history).",
    ),
    Feature("hour_of_day", pl.Int64(), Check.COUNT, "Hour of the transaction (UTC, 0-23)."),
    Feature(
        "is_foreign",
        pl.Int64(),
        Check.COUNT,
        "1 when the merchant country differs from the customer's home country (0 if unknown).",
    ),
    Feature("channel_code", pl.Int64(), Check.COUNT, "Channel: 0 atm, 1 online, 2 pos."),
]
CHANNEL_CODES = {"atm": 0, "online": 1, "pos": 2}
