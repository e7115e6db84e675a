"""The Feast objects `feast apply` registers: the platform's definitions, as module globals.

Everything is built by ``ml_platform.lib.feature_store.definitions.build_feature_repo``, the
same function the pipeline applies, reading the Parquet exports under
``$ML_PLATFORM_FEAST_DIR/offline`` (see feature_store.yaml for why the variable is required).
"""

import os
from pathlib import Path

from ml_platform.lib.feature_store.definitions import build_feature_repo
from ml_platform.lib.feature_store.store import OFFLINE_DIR
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY

FEAST_DIR_VARIABLE = "ML_PLATFORM_FEAST_DIR"


def _offline_dir() -> str:
    feast_dir = os.environ.get(FEAST_DIR_VARIABLE, "").strip()
    if not feast_dir or not Path(feast_dir).is_absolute():
        raise RuntimeError(
            f"set {FEAST_DIR_VARIABLE} to an absolute path before running feast, e.g. "
            f'export {FEAST_DIR_VARIABLE}="$PWD/data/feast" (the pipeline\'s default)'
        )
    return str(Path(feast_dir) / OFFLINE_DIR)


_repo = build_feature_repo(_offline_dir())

customer, merchant = _repo.entities
customer_daily_parquet, merchant_daily_parquet = _repo.sources
customer_daily = _repo.feature_view(CUSTOMER_DAILY)
merchant_daily = _repo.feature_view(MERCHANT_DAILY)
transaction = _repo.request_source
transaction_request_features = _repo.request_view
fraud_detection = _repo.service
