"""The Feast online store file deleted: the next materialization rebuilds it."""

import datetime as dt
from pathlib import Path

import pytest

from ml_platform.lib.feature_store.store import (
    ONLINE_STORE_FILE,
    apply_if_changed,
    feature_repo,
    feature_store,
    materialize_latest,
)
from ml_platform.lib.features.catalog import CUSTOMER_DAILY
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import Settings
from ml_platform_tests.test_lib.test_feature_store.snapshots import (
    export_all,
    random_snapshots,
    write_snapshots,
)

pytestmark = pytest.mark.reliability

FEATURE = "customer_daily:tx_count_1d"


def _lookup(settings: Settings) -> dict:
    store = feature_store(settings)
    return store.get_online_features(
        features=[FEATURE], entity_rows=[{"customer_id": c} for c in (1, 2, 3)]
    ).to_dict()


def _pipeline_run(settings: Settings) -> dict[str, int]:
    """What the feature-store assets do on each run: apply if changed, then materialize."""
    store = feature_store(settings)
    apply_if_changed(store, feature_repo(settings))
    return materialize_latest(store, feature_repo(settings))


def test_a_deleted_online_store_is_rebuilt_by_the_next_materialization(
    lake: DeltaLake, settings: Settings
) -> None:
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    write_snapshots(lake, CUSTOMER_DAILY, random_snapshots(CUSTOMER_DAILY, [1, 2, 3], days, 0))
    export_all(lake, settings, CUSTOMER_DAILY)
    assert _pipeline_run(settings)["customer_daily"] == 3
    served = _lookup(settings)
    assert all(v is not None for v in served["tx_count_1d"])

    online = Path(settings.feast_dir) / ONLINE_STORE_FILE
    online.unlink()  # lost: disk cleanup, a bad deploy, an operator

    assert _pipeline_run(settings)["customer_daily"] == 3  # nothing online: all rewritten
    assert online.exists()
    assert _lookup(settings) == served
    assert _pipeline_run(settings)["customer_daily"] == 3  # same day again: same values
    assert _lookup(settings) == served
