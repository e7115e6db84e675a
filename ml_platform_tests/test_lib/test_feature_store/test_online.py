"""materialize_latest: the online store serves the newest snapshot and never regresses.

Every test runs on both online stores: SQLite (local) and Redis (production), the latter a real
server started for the module (``redis_server``).
"""

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator

import polars as pl
import pytest

from ml_platform.lib.feature_store.definitions import (
    FEATURE_TTL,
    SERVICE_NAME,
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
)
from ml_platform.lib.feature_store.export import export_days
from ml_platform.lib.feature_store.online_store import STORE_TYPE
from ml_platform.lib.feature_store.store import materialize_latest, offline_dir
from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_DATE,
    FEATURE_TABLES,
    MERCHANT_DAILY,
    TIMESTAMP,
    FeatureTable,
)
from ml_platform_tests.local_servers import Redis, redis_server
from ml_platform_tests.test_lib.test_feature_store.snapshots import (
    FEAST_WARNINGS,
    export_all,
    random_snapshots,
    snapshot_rows,
    write_snapshots,
)

pytestmark = FEAST_WARNINGS

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4)]
IDS = {
    CUSTOMER_DAILY.view_name: list(range(1, 31)),
    MERCHANT_DAILY.view_name: list(range(100, 110)),
}


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    with redis_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "redis"])
def settings(request, settings):
    """The tmp settings, with the online store on SQLite or on an emptied Redis."""
    if request.param == "sqlite":
        return settings
    server: Redis = request.getfixturevalue("redis")
    import redis as redis_client

    with redis_client.Redis(host=server.host, port=server.port) as client:
        client.flushall()
    return dataclasses.replace(settings, feast_online_store=server.url)


@pytest.fixture
def exported(lake, settings):
    for table in FEATURE_TABLES:
        frame = random_snapshots(table, IDS[table.view_name], DAYS, seed=len(table.name))
        write_snapshots(lake, table, frame)
        export_all(lake, settings, table)


def latest_offline(lake, table: FeatureTable) -> pl.DataFrame:
    """Each entity's newest snapshot no older than the TTL before the newest one, from Delta."""
    frame = lake.read(table.name)
    newest = frame[TIMESTAMP].max()
    return (
        frame.filter(pl.col(TIMESTAMP) >= newest - FEATURE_TTL)
        .sort(TIMESTAMP)
        .group_by(table.join_key)
        .last()
        .drop(FEATURE_DATE)
    )


def online(store, table: FeatureTable, keys) -> pl.DataFrame:
    refs = [f"{table.view_name}:{f.name}" for f in table.features]
    rows = [{table.join_key: k} for k in keys]
    got = store.get_online_features(features=refs, entity_rows=rows).to_dict()
    schema = {table.join_key: pl.Int64(), **{f.name: f.dtype for f in table.features}}
    return pl.DataFrame(got, schema=schema)


def assert_online_equals(store, expected: pl.DataFrame, table: FeatureTable) -> None:
    keys = expected[table.join_key].to_list()
    columns = [table.join_key, *(f.name for f in table.features)]
    got = online(store, table, keys).select(columns)
    assert got.equals(expected.select(columns).sort(table.join_key).pipe(_in_order, keys, table))


def _in_order(frame: pl.DataFrame, keys, table: FeatureTable) -> pl.DataFrame:
    order = pl.DataFrame({table.join_key: keys})
    return order.join(frame, on=table.join_key, how="left")


def test_online_serves_exactly_the_latest_offline_values(lake, store, repo, exported):
    counts = materialize_latest(store, repo)
    for table in FEATURE_TABLES:
        expected = latest_offline(lake, table)
        assert counts[table.view_name] == expected.height
        sample = expected.sample(n=min(12, expected.height), seed=0)
        assert_online_equals(store, sample, table)


def test_unknown_entity_is_not_found_online(store, repo, exported):
    materialize_latest(store, repo)
    got = online(store, CUSTOMER_DAILY, [999])
    assert got.drop(CUSTOMER_DAILY.join_key).row(0) == (None,) * len(CUSTOMER_DAILY.features)


def test_reexporting_older_days_never_regresses_online_values(
    lake, settings, store, repo, exported
):
    materialize_latest(store, repo)
    before = latest_offline(lake, CUSTOMER_DAILY)
    newest_day, older_day = DAYS[-1], DAYS[-2]
    # an older day is recomputed with different values and re-exported
    rng = random.Random(42)
    changed = snapshot_rows(CUSTOMER_DAILY, IDS[CUSTOMER_DAILY.view_name], older_day, rng)
    lake.replace(CUSTOMER_DAILY.name, changed, f"{FEATURE_DATE} = '{older_day}'", [FEATURE_DATE])
    # and the newest day's export disappears (recomputed empty): the newest file is now older
    lake.replace(
        CUSTOMER_DAILY.name,
        pl.DataFrame(schema=CUSTOMER_DAILY.schema),
        f"{FEATURE_DATE} = '{newest_day}'",
        [FEATURE_DATE],
    )
    export_days(lake, CUSTOMER_DAILY, [older_day, newest_day], offline_dir(settings))

    counts = materialize_latest(store, repo)

    on_newest_day = before.filter(pl.col(TIMESTAMP).dt.date() > newest_day)
    assert on_newest_day.height > 0
    assert_online_equals(store, on_newest_day, CUSTOMER_DAILY)  # untouched
    # only entities whose online value was not newer were written
    assert (
        counts[CUSTOMER_DAILY.view_name]
        == len(IDS[CUSTOMER_DAILY.view_name]) - on_newest_day.height
    )


def test_a_recomputed_newest_day_replaces_its_online_values(lake, settings, store, repo, exported):
    materialize_latest(store, repo)
    newest_day = DAYS[-1]
    keys = IDS[CUSTOMER_DAILY.view_name][:5]
    recomputed = snapshot_rows(CUSTOMER_DAILY, keys, newest_day, random.Random(7))
    lake.replace(
        CUSTOMER_DAILY.name, recomputed, f"{FEATURE_DATE} = '{newest_day}'", [FEATURE_DATE]
    )
    export_days(lake, CUSTOMER_DAILY, [newest_day], offline_dir(settings))

    materialize_latest(store, repo)

    assert_online_equals(store, recomputed.drop(FEATURE_DATE), CUSTOMER_DAILY)


def test_online_request_features_match_the_offline_definition(lake, store, repo, exported):
    materialize_latest(store, repo)
    customer = latest_offline(lake, CUSTOMER_DAILY).row(0, named=True)
    when = dt.datetime(2026, 1, 5, 21, 30, tzinfo=dt.UTC)
    got = store.get_online_features(
        features=store.get_feature_service(SERVICE_NAME),
        entity_rows=[
            {
                CUSTOMER_DAILY.join_key: customer[CUSTOMER_DAILY.join_key],
                MERCHANT_DAILY.join_key: 100,
                TIMESTAMP: when,
                TRANSACTION_AMOUNT: 80.0,
                TRANSACTION_COUNTRY: "ZZ",
                TRANSACTION_CHANNEL: "atm",
            }
        ],
    ).to_dict()
    mean = customer["amount_mean_30d"]
    assert got["amount"] == [80.0]
    assert got["amount_to_mean_30d"] == [80.0 / mean if mean else None]
    assert got["hour_of_day"] == [21]
    assert got["is_foreign"] == [int(customer["home_country"] is not None)]
    assert got["channel_code"] == [0]
    assert got["amount_mean_30d"] == [mean]


def test_the_online_values_live_in_the_configured_store(settings, store, repo, exported):
    counts = materialize_latest(store, repo)
    expected = {"sqlite": STORE_TYPE, "redis": "redis"}[settings.feast_online_store.split(":")[0]]
    assert store.config.online_store.type == expected
    if store.config.online_store.type == "redis":
        import redis as redis_client

        server = store.config.online_store.connection_string.split(",")[0]
        host, port = server.split(":")
        with redis_client.Redis(host=host, port=int(port)) as client:
            # one hash per entity key (all views of an entity share it)
            assert client.dbsize() == sum(counts.values())
