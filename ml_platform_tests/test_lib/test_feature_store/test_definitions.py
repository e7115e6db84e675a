import datetime as dt

import pytest
from feast.types import Float64, Int64, String

from ml_platform.lib.feature_store.definitions import (
    FEATURE_TTL,
    REQUEST_VIEW_NAME,
    SERVICE_NAME,
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
    UNKNOWN_CHANNEL_CODE,
    build_feature_repo,
    request_features,
)
from ml_platform.lib.features.catalog import (
    CHANNEL_CODES,
    CUSTOMER_DAILY,
    FEATURE_TABLES,
    MERCHANT_DAILY,
    REQUEST_FEATURES,
    TIMESTAMP,
)

UTC = dt.UTC


def one(**overrides):
    row = {
        TIMESTAMP: dt.datetime(2026, 1, 2, 13, 45, tzinfo=UTC),
        TRANSACTION_AMOUNT: 30.0,
        TRANSACTION_COUNTRY: "US",
        TRANSACTION_CHANNEL: "online",
        "amount_mean_30d": 20.0,
        "home_country": "US",
    }
    row.update(overrides)
    out = request_features({k: [v] for k, v in row.items()})
    return {k: v[0] for k, v in out.items()}


def test_request_features_are_the_catalog_request_features_in_order():
    assert list(one()) == [f.name for f in REQUEST_FEATURES]
    assert one() == {
        "amount": 30.0,
        "amount_to_mean_30d": 1.5,
        "hour_of_day": 13,
        "is_foreign": 0,
        "channel_code": CHANNEL_CODES["online"],
    }


@pytest.mark.parametrize(
    ("overrides", "feature", "expected"),
    [
        ({"amount_mean_30d": None}, "amount_to_mean_30d", None),
        ({"amount_mean_30d": 0.0}, "amount_to_mean_30d", None),
        ({TRANSACTION_COUNTRY: "FR"}, "is_foreign", 1),
        ({"home_country": None}, "is_foreign", 0),
        ({TRANSACTION_COUNTRY: None}, "is_foreign", 0),
        ({TRANSACTION_CHANNEL: "atm"}, "channel_code", 0),
        ({TRANSACTION_CHANNEL: "pos"}, "channel_code", 2),
        ({TRANSACTION_CHANNEL: "fax"}, "channel_code", UNKNOWN_CHANNEL_CODE),
        # hour of day is UTC whatever the zone the timestamp is expressed in; naive means UTC
        (
            {TIMESTAMP: dt.datetime(2026, 1, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))},
            "hour_of_day",
            22,
        ),
        ({TIMESTAMP: dt.datetime(2026, 1, 2, 23, 59)}, "hour_of_day", 23),
        ({TIMESTAMP: dt.datetime(2026, 1, 2, 0, 0, tzinfo=UTC)}, "hour_of_day", 0),
    ],
)
def test_request_feature_rules(overrides, feature, expected):
    assert one(**overrides)[feature] == expected


def test_feature_views_are_generated_from_the_catalog(tmp_path):
    repo = build_feature_repo(str(tmp_path / "offline"))
    types = {"Int64": Int64, "Float64": Float64, "String": String}
    for table in FEATURE_TABLES:
        view = repo.feature_view(table)
        assert view.name == table.view_name
        assert view.ttl == FEATURE_TTL == dt.timedelta(days=2)
        assert view.online
        assert [e.name for e in view.entity_columns] == [table.join_key]
        assert [(f.name, f.dtype) for f in view.features] == [
            (f.name, types[str(f.dtype)]) for f in table.features
        ]
        source = view.batch_source
        assert source.path == f"{tmp_path}/offline/{table.view_name}/*.parquet"
        assert source.timestamp_field == TIMESTAMP
        # feast #6615: a created timestamp column lets later rows leak into training sets
        assert not source.created_timestamp_column
    assert [e.name for e in repo.entities] == [CUSTOMER_DAILY.entity, MERCHANT_DAILY.entity]


def test_feature_service_serves_both_views_and_the_request_features(tmp_path):
    repo = build_feature_repo(str(tmp_path))
    assert repo.service.name == SERVICE_NAME
    assert [p.name for p in repo.service.feature_view_projections] == [
        CUSTOMER_DAILY.view_name,
        MERCHANT_DAILY.view_name,
        REQUEST_VIEW_NAME,
    ]
    assert repo.request_view.mode == "python"
    assert [f.name for f in repo.request_view.features] == [f.name for f in REQUEST_FEATURES]
    assert set(repo.request_view.get_request_data_schema()) == {
        TIMESTAMP,
        TRANSACTION_AMOUNT,
        TRANSACTION_COUNTRY,
        TRANSACTION_CHANNEL,
    }
    assert len(repo.objects()) == 9


def test_relative_offline_dir_is_registered_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = build_feature_repo("exports")
    assert repo.offline_dir == str(tmp_path / "exports")
