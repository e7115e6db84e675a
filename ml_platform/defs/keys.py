"""Every asset key of the platform's graph, in one place: ``[layer, name]``, as the UI shows them.

Assets declare their own key (``key_prefix`` + name, or ``key=``); everything that refers to an
asset of another module — dependencies, automation conditions, sensors' run targets, checks,
the CLI's runs — takes its key from here, so a renamed asset is renamed once. Keys of Delta
tables are the table's path (``bronze/transactions`` ↔ ``["bronze", "transactions"]``).
"""

import dagster as dg

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.sources import SOURCES
from ml_platform.serving.config import REQUEST_LOG_TABLE

# ingestion: landing files → bronze, with the quarantine and the ledger written alongside
LANDING = {name: dg.AssetKey(["landing", name]) for name in SOURCES}
BRONZE = {name: dg.AssetKey(["bronze", name]) for name in SOURCES}
QUARANTINE = dg.AssetKey(tables.QUARANTINE_TABLE.split("/"))
LEDGER = dg.AssetKey(tables.LEDGER_TABLE.split("/"))

# staging: bronze → silver (chargebacks become labels)
SILVER_TRANSACTIONS = dg.AssetKey(["silver", "transactions"])
SILVER_LABELS = dg.AssetKey(["silver", "labels"])
SILVER_CUSTOMERS = dg.AssetKey(["silver", "customers"])

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
ONLINE_SCORES = dg.AssetKey(REQUEST_LOG_TABLE.split("/"))

# monitoring
FEATURE_DRIFT = dg.AssetKey(["monitoring", "feature_drift"])
ONLINE_DRIFT = dg.AssetKey(["monitoring", "online_drift"])
PERFORMANCE = dg.AssetKey(["monitoring", "model_performance"])
