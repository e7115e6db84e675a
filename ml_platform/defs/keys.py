"""Every asset key of the platform's graph, in one place: ``[layer, name]``, as the UI shows them.

Assets declare their own key (``key_prefix`` + name, or ``key=``); everything that refers to an
asset of another module — dependencies, automation conditions, sensors' run targets, checks,
the CLI's runs — takes its key from here, so a renamed asset is renamed once. Keys of Delta
tables are the table's path (``bronze/transactions`` ↔ ``["bronze", "transactions"]``), built
from the lake's own table names where the library layer names them.
"""

import dagster as dg

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.sources import SOURCES
from ml_platform.lib.staging import transforms
from ml_platform.serving.config import REQUEST_LOG_TABLE


def table_key(table: str) -> dg.AssetKey:
    """The asset key of a Delta table: its path in the lake, ``bronze/x`` → ``["bronze", "x"]``."""
    return dg.AssetKey(table.split("/"))


# ingestion: landing files → bronze, with the quarantine and the ledger written alongside
LANDING = {name: dg.AssetKey(["landing", name]) for name in SOURCES}
BRONZE = {name: table_key(tables.bronze_table(source)) for name, source in SOURCES.items()}
QUARANTINE = table_key(tables.QUARANTINE_TABLE)
LEDGER = table_key(tables.LEDGER_TABLE)

# staging: bronze → silver (chargebacks become labels)
SILVER_TRANSACTIONS = table_key(transforms.SILVER_TRANSACTIONS)
SILVER_LABELS = table_key(transforms.SILVER_LABELS)
SILVER_CUSTOMERS = table_key(transforms.SILVER_CUSTOMERS)

# features and the Feast feature store
CUSTOMER_DAILY = dg.AssetKey(["features", "customer_daily"])
MERCHANT_DAILY = dg.AssetKey(["features", "merchant_daily"])
FEATURE_REGISTRY = dg.AssetKey(["feature_store", "registry"])
ONLINE_STORE = dg.AssetKey(["feature_store", "online_store"])

# training and scoring
TRAINING_SET = dg.AssetKey(["ml", "training_set"])
MODEL = dg.AssetKey(["ml", "fraud_model"])
CHAMPION = dg.AssetKey(["ml", "champion"])
SCORES = dg.AssetKey(["ml", "transaction_scores"])
ONLINE_SCORES = table_key(REQUEST_LOG_TABLE)

# monitoring
FEATURE_DRIFT = dg.AssetKey(["monitoring", "feature_drift"])
ONLINE_DRIFT = dg.AssetKey(["monitoring", "online_drift"])
PERFORMANCE = dg.AssetKey(["monitoring", "model_performance"])
