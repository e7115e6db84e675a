import datetime as dt

from ml_platform.lib.feature_store.definitions import REQUEST_VIEW_NAME, SERVICE_NAME
from ml_platform.lib.feature_store.store import (
    PROJECT,
    apply_if_changed,
    feature_repo,
    feature_store,
    materialize_latest,
)
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_TABLES
from ml_platform_tests.test_lib.test_feature_store.snapshots import (
    FEAST_WARNINGS,
    export_all,
    random_snapshots,
    write_snapshots,
)

pytestmark = FEAST_WARNINGS

ALL = [
    "customer",
    "merchant",
    "customer_daily_parquet",
    "merchant_daily_parquet",
    "customer_daily",
    "merchant_daily",
    "transaction",
    REQUEST_VIEW_NAME,
    SERVICE_NAME,
]


def test_applies_everything_once_then_nothing(settings):
    store = feature_store(settings)
    assert apply_if_changed(store, feature_repo(settings)) == ALL
    assert apply_if_changed(store, feature_repo(settings)) == []
    # a new process: new store, definitions rebuilt from scratch (UDF pickled anew)
    assert apply_if_changed(feature_store(settings), feature_repo(settings)) == []
    assert store.project == PROJECT
    assert {v.name for v in store.list_feature_views()} == {t.view_name for t in FEATURE_TABLES}


def test_detects_a_changed_feature_view(settings):
    store = feature_store(settings)
    apply_if_changed(store, feature_repo(settings))
    repo = feature_repo(settings)
    repo.feature_view(CUSTOMER_DAILY).ttl = dt.timedelta(days=3)

    changed = apply_if_changed(store, repo)

    assert "customer_daily" in changed
    assert "merchant_daily" not in changed
    assert store.get_feature_view("customer_daily").ttl == dt.timedelta(days=3)
    assert apply_if_changed(store, repo) == []


def test_an_unchanged_apply_keeps_the_online_store(lake, settings):
    store = feature_store(settings)
    apply_if_changed(store, feature_repo(settings))
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    write_snapshots(lake, CUSTOMER_DAILY, random_snapshots(CUSTOMER_DAILY, [1, 2, 3], days, 0))
    export_all(lake, settings, CUSTOMER_DAILY)
    materialize_latest(store, feature_repo(settings))

    assert apply_if_changed(store, feature_repo(settings)) == []

    got = store.get_online_features(
        features=["customer_daily:tx_count_1d"], entity_rows=[{"customer_id": 1}]
    ).to_dict()
    assert got["tx_count_1d"][0] is not None
