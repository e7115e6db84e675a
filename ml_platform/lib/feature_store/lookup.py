"""A sample online lookup through the fraud feature service, for summaries and the UI."""

import datetime as dt

import polars as pl
from feast import FeatureStore

from ml_platform.lib.feature_store import definitions as d
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY, TIMESTAMP

SHOWN = [
    "customer_id",
    "merchant_id",
    "tx_count_30d",
    "amount_mean_30d",
    "merchant_fraud_rate_30d",
    "amount_to_mean_30d",
    "is_foreign",
    "channel_code",
]


def sample_online_lookup(
    store: FeatureStore, customers: list[int], merchants: list[int], amount: float = 120.0
) -> pl.DataFrame:
    """Look up a made-up transaction for each (customer, merchant) pair, online."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            CUSTOMER_DAILY.join_key: customer,
            MERCHANT_DAILY.join_key: merchant,
            TIMESTAMP: now,
            d.TRANSACTION_AMOUNT: amount,
            d.TRANSACTION_COUNTRY: "US",
            d.TRANSACTION_CHANNEL: "online",
        }
        for customer, merchant in zip(customers, merchants, strict=True)
    ]
    if not rows:
        return pl.DataFrame()
    response = store.get_online_features(
        features=store.get_feature_service(d.SERVICE_NAME), entity_rows=rows
    ).to_dict()
    frame = pl.DataFrame({k: v for k, v in response.items() if k != TIMESTAMP}, strict=False)
    return frame.select([c for c in SHOWN if c in frame.columns])
