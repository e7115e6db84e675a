"""Online features: TTL as in the point-in-time join, defaults, request-time features, batches."""

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from feast.online_response import OnlineResponse
from feast.protos.feast.serving.ServingService_pb2 import GetOnlineFeaturesResponse
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from ml_platform.lib.feature_store.definitions import FEATURE_TTL, SERVICE_NAME
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_TABLES, MERCHANT_DAILY
from ml_platform.serving.features import (
    DEFAULT_FEATURES,
    OnlineFeatures,
    TransactionInput,
    _python_values,
)

SNAPSHOT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


class FakeStore:
    """What OnlineFeatures uses of a Feast store, answering from a dict of online rows."""

    provider = None  # not the project's SQLite store: lookups go through get_online_features

    def __init__(self, rows: dict[str, dict[int, tuple[dt.datetime, dict[str, Any]]]]) -> None:
        self.rows = rows  # view -> key -> (event time, values)
        self.calls: list[list[str]] = []
        self.rows_read: list[int] = []

    def get_feature_service(self, name: str) -> Any:
        assert name == SERVICE_NAME
        projections = [
            SimpleNamespace(
                name=t.view_name, features=[SimpleNamespace(name=f.name) for f in t.features]
            )
            for t in FEATURE_TABLES
        ]
        return SimpleNamespace(feature_view_projections=projections)

    def get_feature_view(self, name: str) -> Any:
        return SimpleNamespace(name=name, ttl=FEATURE_TTL)

    def get_online_features(self, features: list[str], entity_rows: list[dict]) -> Any:
        """A real Feast ``OnlineResponse``: one vector of values and event times per feature."""
        self.calls.append(features)
        self.rows_read.append(len(entity_rows))
        response = GetOnlineFeaturesResponse()
        for table in FEATURE_TABLES:
            for f in table.features:
                response.metadata.feature_names.val.append(f.name)
                vector = response.results.add()
                for row in entity_rows:
                    stamp, values = self.rows.get(table.view_name, {}).get(
                        row[table.join_key], (None, {})
                    )
                    vector.values.append(_proto(values.get(f.name)))
                    vector.event_timestamps.add(seconds=int(stamp.timestamp()) if stamp else 0)
        return OnlineResponse(response)


def _proto(value: Any) -> ValueProto:
    if value is None:
        return ValueProto()
    if isinstance(value, str):
        return ValueProto(string_val=value)
    if isinstance(value, float):
        return ValueProto(double_val=value)
    return ValueProto(int64_val=value)


def _values(table: Any, **overrides: Any) -> dict[str, Any]:
    values = {f.name: (1.0 if f.dtype.is_float() else 1) for f in table.features}
    if table is CUSTOMER_DAILY:
        values["home_country"] = "US"
    return {**values, **overrides}


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(
        {
            "customer_daily": {1: (SNAPSHOT, _values(CUSTOMER_DAILY, amount_mean_30d=40.0))},
            "merchant_daily": {7: (SNAPSHOT, _values(MERCHANT_DAILY))},
        }
    )


def _lookup(features: OnlineFeatures, when: dt.datetime, customer: int = 1, **kw: Any) -> Any:
    args = {"amount": 100.0, "country": "DE", "channel": "online", **kw}
    return features.lookup(customer, 7, args["amount"], args["country"], args["channel"], when)


def test_known_entities_get_their_snapshot_and_the_request_features(store: FakeStore) -> None:
    features = OnlineFeatures(store)
    when = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    found = _lookup(features, when)
    assert found.defaults_used == []
    assert found.snapshot_timestamps == {"customer": SNAPSHOT, "merchant": SNAPSHOT}
    v = found.values
    assert v["tx_count_30d"] == 1 and v["merchant_tx_count_30d"] == 1
    assert v["amount"] == 100.0 and v["amount_to_mean_30d"] == 2.5
    assert v["hour_of_day"] == 12  # 14:30 at +02:00 is 12:30 UTC
    assert v["is_foreign"] == 1 and v["channel_code"] == 1  # DE vs home US; online


def test_feature_references_are_resolved_once(store: FakeStore) -> None:
    features = OnlineFeatures(store)
    for _ in range(3):
        _lookup(features, SNAPSHOT)
    assert all(call is features.references for call in store.calls)
    assert len(features.references) == sum(len(t.features) for t in FEATURE_TABLES)


@pytest.mark.parametrize(
    ("age", "expired"),
    [(dt.timedelta(0), False), (FEATURE_TTL, False), (FEATURE_TTL + dt.timedelta(seconds=1), True)],
)
def test_a_snapshot_older_than_the_ttl_is_missing_as_in_the_point_in_time_join(
    store: FakeStore, age: dt.timedelta, expired: bool
) -> None:
    found = _lookup(OnlineFeatures(store), SNAPSHOT + age)
    assert found.defaults_used == (["customer", "merchant"] if expired else [])
    assert (found.values["tx_count_1d"] is None) is expired


def test_an_unknown_customer_gets_the_defaults_and_neutral_request_features(
    store: FakeStore,
) -> None:
    found = _lookup(OnlineFeatures(store), SNAPSHOT, customer=999)
    assert found.defaults_used == ["customer"]
    assert found.snapshot_timestamps["customer"] is None
    assert {n: found.values[n] for n in DEFAULT_FEATURES["customer"]} == DEFAULT_FEATURES[
        "customer"
    ]
    assert found.values["merchant_tx_count_7d"] == 1
    assert found.values["amount_to_mean_30d"] is None  # no 30-day mean
    assert found.values["is_foreign"] == 0  # home country unknown


def test_defaults_cover_every_feature_of_both_views_as_missing() -> None:
    assert set(DEFAULT_FEATURES) == {"customer", "merchant"}
    for table in FEATURE_TABLES:
        assert DEFAULT_FEATURES[table.entity] == {f.name: None for f in table.features}


def test_a_nan_from_the_online_store_is_a_missing_value() -> None:
    nan_mean = _values(CUSTOMER_DAILY, amount_mean_30d=float("nan"))
    store = FakeStore({"customer_daily": {1: (SNAPSHOT, nan_mean)}})
    found = _lookup(OnlineFeatures(store), SNAPSHOT)
    assert found.values["amount_mean_30d"] is None
    assert found.values["amount_to_mean_30d"] is None


def test_a_store_without_the_catalog_features_is_refused(store: FakeStore) -> None:
    service = store.get_feature_service(SERVICE_NAME)
    service.feature_view_projections[1].features.pop()
    store.get_feature_service = lambda name: service  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="merchant_daily"):
        OnlineFeatures(store)


def test_lookup_many_equals_one_lookup_per_transaction_with_one_read() -> None:
    store = FakeStore(
        {
            "customer_daily": {
                1: (SNAPSHOT, _values(CUSTOMER_DAILY, amount_mean_30d=40.0)),
                2: (SNAPSHOT, _values(CUSTOMER_DAILY, amount_mean_30d=10.0, home_country="DE")),
            },
            "merchant_daily": {7: (SNAPSHOT, _values(MERCHANT_DAILY, merchant_tx_count_7d=5))},
        }
    )
    features = OnlineFeatures(store)
    later = SNAPSHOT + FEATURE_TTL + dt.timedelta(hours=1)
    transactions = [
        TransactionInput(1, 7, 100.0, "DE", "online", SNAPSHOT + dt.timedelta(hours=3)),
        TransactionInput(2, 7, 30.0, "DE", "pos", SNAPSHOT + dt.timedelta(hours=9)),
        TransactionInput(999, 7, 5.0, "US", "atm", SNAPSHOT),  # unknown customer
        TransactionInput(1, 8, 7.0, "GB", "pos", SNAPSHOT),  # unknown merchant
        TransactionInput(2, 7, 30.0, "DE", "pos", later),  # both snapshots expired
        TransactionInput(1, 7, 100.0, "DE", "online", SNAPSHOT + dt.timedelta(hours=3)),  # again
    ]
    many = features.lookup_many(transactions)
    assert store.rows_read == [len(transactions)]  # one read for all of them
    one_by_one = [features.lookup(*t) for t in transactions]
    assert many == one_by_one
    assert [f.defaults_used for f in many] == [
        [],
        [],
        ["customer"],
        ["merchant"],
        ["customer", "merchant"],
        [],
    ]
    assert [f.values["amount_to_mean_30d"] for f in many] == [2.5, 3.0, None, 7.0 / 40, None, 2.5]
    assert [f.values["hour_of_day"] for f in many] == [3, 9, 0, 0, 1, 3]
    assert [f.values["is_foreign"] for f in many] == [1, 0, 0, 1, 0, 1]


def test_lookup_many_of_nothing_reads_nothing(store: FakeStore) -> None:
    assert OnlineFeatures(store).lookup_many([]) == []
    assert store.calls == []


def test_values_are_read_as_feast_converts_them() -> None:
    values = [
        ValueProto(),
        ValueProto(double_val=1.5),
        ValueProto(double_val=float("nan")),
        ValueProto(int64_val=7),
        ValueProto(string_val="US"),
        ValueProto(bool_val=True),
        ValueProto(unix_timestamp_val=86400),  # not a plain scalar: Feast's converter
    ]
    assert _python_values(values) == [
        None,
        1.5,
        None,
        7,
        "US",
        True,
        dt.datetime(1970, 1, 2, tzinfo=dt.UTC),
    ]
