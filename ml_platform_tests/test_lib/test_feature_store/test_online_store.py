"""The project's SQLite online store: Feast reads it as before, bulk writes never go older."""

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig, ValueType
from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
from feast.infra.registry.sql import SqlRegistryConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Int64List, StringList
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.types import (
    Array,
    Bool,
    Bytes,
    Float32,
    Float64,
    Int32,
    Int64,
    String,
    UnixTimestamp,
)

from ml_platform.lib.feature_store.definitions import FeatureRepo
from ml_platform.lib.feature_store.online_store import (
    PlatformSqliteOnlineStore,
    PlatformSqliteOnlineStoreConfig,
    newest_online_timestamp,
    project_online_store,
    table_name,
)
from ml_platform.lib.feature_store.store import (
    ONLINE_STORE_FILE,
    ensure_online_tables,
    feature_store,
    materialize_latest,
)
from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_TABLES,
    MERCHANT_DAILY,
    TIMESTAMP,
    FeatureTable,
)
from ml_platform.settings import Settings
from ml_platform_tests.local_servers import redis_server
from ml_platform_tests.test_lib.test_feature_store.snapshots import (
    FEAST_WARNINGS,
    day_end,
    snapshot_rows,
)

pytestmark = FEAST_WARNINGS

DAY = dt.date(2026, 1, 2)
UTC = dt.UTC

# --- every Feast type, against Feast's stock SQLite store ---------------------------------------

TYPES = {
    "i32": (Int32, ValueProto(int32_val=-7)),
    "i64": (Int64, ValueProto(int64_val=2**40 + 1)),
    "f32": (Float32, ValueProto(float_val=1.5)),
    "f64": (Float64, ValueProto(double_val=0.1)),
    "text": (String, ValueProto(string_val='é "x"; DROP')),
    "flag": (Bool, ValueProto(bool_val=True)),
    "blob": (Bytes, ValueProto(bytes_val=b"\x00\x01\xff")),
    "stamp": (UnixTimestamp, ValueProto(unix_timestamp_val=1_767_312_000)),
    "ints": (Array(Int64), ValueProto(int64_list_val=Int64List(val=[1, -2, 3]))),
    "words": (Array(String), ValueProto(string_list_val=StringList(val=["a", ""]))),
}
KEYS = [1, 2, 3]  # 1: every value; 2: every value null; 3: never written
STAMP = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)  # with microseconds


def _config(tmp: Path, online: object) -> RepoConfig:
    return RepoConfig(
        project="typed",
        provider="local",
        registry=SqlRegistryConfig(registry_type="sql", path=f"sqlite:///{tmp / 'registry.db'}"),
        online_store=online,
        offline_store=DuckDBOfflineStoreConfig(),
        entity_key_serialization_version=3,
        repo_path=tmp,
    )


def _typed_view() -> tuple[Entity, FeatureView]:
    entity = Entity(name="thing", join_keys=["thing_id"], value_type=ValueType.INT64)
    source = FileSource(name="things", path="/nonexistent/*.parquet", timestamp_field=TIMESTAMP)
    fields = [Field(name=name, dtype=dtype) for name, (dtype, _) in TYPES.items()]
    view = FeatureView(
        name="things",
        entities=[entity],
        ttl=dt.timedelta(days=2),
        schema=[Field(name="thing_id", dtype=Int64), *fields],
        source=source,
    )
    return entity, view


def _feast_rows(stamp: dt.datetime) -> list:
    full = {name: value for name, (_, value) in TYPES.items()}
    nulls = {name: ValueProto() for name in TYPES}
    return [
        (_key(1), full, stamp, None),
        (_key(2), nulls, stamp, stamp),
    ]


def _key(value: int) -> EntityKeyProto:
    return EntityKeyProto(join_keys=["thing_id"], entity_values=[ValueProto(int64_val=value)])


def _read_typed(store: FeatureStore) -> dict[str, list]:
    got = store.get_online_features(
        features=[f"things:{name}" for name in TYPES],
        entity_rows=[{"thing_id": k} for k in KEYS],
    ).to_dict(include_event_timestamps=True)
    return {name: [(type(v).__name__, v) for v in values] for name, values in got.items()}


@pytest.fixture
def typed_stores(tmp_path: Path) -> Iterator[tuple[FeatureStore, FeatureStore]]:
    """The project's store and Feast's stock SQLite store, one registry, the typed view."""
    ours = FeatureStore(
        config=_config(tmp_path, PlatformSqliteOnlineStoreConfig(path=str(tmp_path / "ours.db")))
    )
    stock = FeatureStore(
        config=_config(tmp_path, SqliteOnlineStoreConfig(path=str(tmp_path / "stock.db")))
    )
    entity, view = _typed_view()
    ours.apply([entity, view])
    registered = stock.get_feature_view("things")
    stock.provider.update_infra("typed", [], [registered], [], [], partial=True)
    yield ours, stock


def test_every_type_and_null_reads_back_as_from_feasts_stock_store(typed_stores) -> None:
    ours, stock = typed_stores
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for store in (ours, stock):
        view = store.get_feature_view("things")
        store.provider.online_write_batch(store.config, view, _feast_rows(stamp), None)

    got = _read_typed(ours)
    assert got == _read_typed(stock)
    assert got["i64"] == [("int", 2**40 + 1), ("NoneType", None), ("NoneType", None)]
    assert got["ints"][0] == ("list", [1, -2, 3])
    seconds = ("int", int(stamp.timestamp()))
    assert got["i64__ts"] == [seconds, seconds, ("int", 0)]  # an all-null row is still a row


def _written_typed(store: FeatureStore) -> tuple[PlatformSqliteOnlineStore, FeatureView]:
    """The project's store with ``_feast_rows(STAMP)`` written to the typed view."""
    view = store.get_feature_view("things")
    online = project_online_store(store)
    assert online is not None
    online.online_write_batch(store.config, view, _feast_rows(STAMP), None)
    return online, view


def test_online_read_answers_none_for_unknown_entities(typed_stores) -> None:
    ours, _ = typed_stores
    online, view = _written_typed(ours)

    read = online.online_read(ours.config, view, [_key(3), _key(1), _key(99)], ["i64", "text"])

    assert read[0] == (None, None) and read[2] == (None, None)
    assert read[1][0] == STAMP  # microseconds kept
    assert read[1][1] == {"i64": TYPES["i64"][1], "text": TYPES["text"][1]}


def test_read_rows_gives_the_python_values_of_feasts_read_without_protos(typed_stores) -> None:
    ours, _ = typed_stores
    online, view = _written_typed(ours)
    names = list(reversed(TYPES))  # any order of features

    rows = online.read_rows(ours.config, view, [3, 1, 2, 1], names)

    assert sorted(rows) == [1, 2]  # unknown keys are absent; a repeated key is read once
    assert rows[1][0] == STAMP and rows[2][0] == STAMP  # microseconds kept
    feast = _read_typed(ours)
    for key, index in ((1, 0), (2, 1)):
        got = [(type(v).__name__, v) for v in rows[key][1]]
        assert got == [feast[name][index] for name in names]
    assert rows[1][1][names.index("stamp")] == dt.datetime(2026, 1, 2, tzinfo=UTC)
    assert rows[1][1][names.index("flag")] is True
    assert rows[2][1] == [None] * len(names)


def test_feasts_generic_write_keeps_the_newest_event(typed_stores) -> None:
    ours, _ = typed_stores
    view = ours.get_feature_view("things")
    online = project_online_store(ours)
    assert online is not None
    new, old = dt.datetime(2026, 1, 3, tzinfo=UTC), dt.datetime(2026, 1, 2, tzinfo=UTC)
    online.online_write_batch(ours.config, view, _feast_rows(new)[:1], None)
    older = [(_key(1), {"i64": ValueProto(int64_val=5)}, old, None)]
    online.online_write_batch(ours.config, view, older, None)
    assert _read_typed(ours)["i64"][0] == ("int", 2**40 + 1)

    same_time = [(_key(1), {"i64": ValueProto(int64_val=5)}, new, None)]
    online.online_write_batch(ours.config, view, same_time, None)
    assert _read_typed(ours)["i64"][0] == ("int", 5)
    assert _read_typed(ours)["text"][0] == ("NoneType", None)  # the whole row is replaced


def test_teardown_drops_the_tables(typed_stores) -> None:
    ours, _ = typed_stores
    path = Path(ours.config.online_store.path)
    ours.teardown()
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        assert table_name("typed", "things") not in {row[0] for row in tables}


# --- the project's repo: bulk writes from Polars ------------------------------------------------


def _online(store: FeatureStore, table: FeatureTable, keys: list[int]) -> dict[str, list]:
    return store.get_online_features(
        features=[f"{table.view_name}:{f.name}" for f in table.features],
        entity_rows=[{table.join_key: k} for k in keys],
    ).to_dict(include_event_timestamps=True)


def _write(store: FeatureStore, table: FeatureTable, rows: pl.DataFrame) -> int:
    online = project_online_store(store)
    assert online is not None
    view = store.get_feature_view(table.view_name)
    return online.write_frame(store.config, view, rows, TIMESTAMP)


def _rows(table: FeatureTable, keys: list[int], day: dt.date, seed: int) -> pl.DataFrame:
    return snapshot_rows(table, keys, day, random.Random(seed))


@pytest.mark.parametrize("table", FEATURE_TABLES, ids=lambda t: t.view_name)
def test_bulk_rows_read_back_exactly_with_their_types(store, table: FeatureTable) -> None:
    rows = _rows(table, list(range(1, 41)), DAY, seed=3)
    assert rows.null_count().sum_horizontal().item() > 0  # nulls are part of the round trip

    assert _write(store, table, rows) == 40

    got = _online(store, table, [*rows[table.join_key], 999])
    for feature in table.features:
        expected = [*rows[feature.name], None]
        assert got[feature.name] == expected, feature.name
        python_type = {pl.Int64(): int, pl.Float64(): float, pl.String(): str}[feature.dtype]
        assert all(isinstance(v, python_type) for v in expected if v is not None)
        assert all(type(v) is type(e) for v, e in zip(got[feature.name], expected, strict=True))
    stamps = got[f"{table.features[0].name}__ts"]
    assert stamps == [int(day_end(DAY).timestamp())] * 40 + [0]


def test_nan_is_stored_as_missing(store) -> None:
    rows = _rows(CUSTOMER_DAILY, [1], DAY, seed=1).with_columns(
        pl.lit(float("nan")).alias("amount_mean_30d")
    )
    _write(store, CUSTOMER_DAILY, rows)
    assert _online(store, CUSTOMER_DAILY, [1])["amount_mean_30d"] == [None]


def test_an_older_row_is_never_written_an_equal_or_newer_one_is(store) -> None:
    table = CUSTOMER_DAILY
    newer_day, older_day = DAY, DAY - dt.timedelta(days=1)
    assert _write(store, table, _rows(table, [1, 2, 3], newer_day, seed=1)) == 3
    kept = _online(store, table, [1, 2, 3])

    # entities 1-3 are older than online (not written); 4 is new (written)
    assert _write(store, table, _rows(table, [1, 2, 3, 4], older_day, seed=2)) == 1
    assert _online(store, table, [1, 2, 3]) == kept
    assert _online(store, table, [4])["tx_count_1d__ts"] == [int(day_end(older_day).timestamp())]

    # a recomputation of the same day replaces; a newer day replaces
    same_day = _rows(table, [1, 2], newer_day, seed=3)
    assert _write(store, table, same_day) == 2
    assert _online(store, table, [1, 2])["tx_count_1d"] == same_day["tx_count_1d"].to_list()
    assert _write(store, table, _rows(table, [3], newer_day + dt.timedelta(days=1), 4)) == 1


def test_a_null_join_key_is_refused(store) -> None:
    rows = _rows(MERCHANT_DAILY, [1], DAY, seed=1).with_columns(
        pl.lit(None, dtype=pl.Int64()).alias(MERCHANT_DAILY.join_key)
    )
    with pytest.raises(ValueError, match="null merchant_id"):
        _write(store, MERCHANT_DAILY, rows)


def test_a_deleted_file_is_rebuilt_and_seen_by_the_same_store_object(
    store, repo: FeatureRepo, settings: Settings
) -> None:
    _write(store, MERCHANT_DAILY, _rows(MERCHANT_DAILY, [1, 2], DAY, seed=1))
    path = Path(settings.feast_dir) / ONLINE_STORE_FILE
    path.unlink()

    ensure_online_tables(store, repo)

    assert path.exists()
    assert _online(store, MERCHANT_DAILY, [1])["merchant_tx_count_7d"] == [None]
    assert _write(store, MERCHANT_DAILY, _rows(MERCHANT_DAILY, [1], DAY, seed=2)) == 1
    assert _online(feature_store(settings), MERCHANT_DAILY, [1])["merchant_tx_count_7d__ts"] != [0]


def test_an_old_layout_store_file_does_not_break_materialization(
    settings: Settings, repo: FeatureRepo
) -> None:
    path = Path(settings.feast_dir) / ONLINE_STORE_FILE
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:  # the stock layout an older version left
        for table in FEATURE_TABLES:
            connection.execute(
                f'CREATE TABLE "ml_platform_{table.view_name}" (entity_key BLOB, '
                "feature_name TEXT, value BLOB, event_ts timestamp, created_ts timestamp, "
                "PRIMARY KEY(entity_key, feature_name))"
            )
    store = feature_store(settings)
    store.apply(repo.objects())
    offline = Path(repo.offline_dir) / CUSTOMER_DAILY.view_name
    offline.mkdir(parents=True)
    _rows(CUSTOMER_DAILY, [1, 2], DAY, seed=1).write_parquet(offline / f"{DAY}.parquet")

    assert materialize_latest(store, repo) == {"customer_daily": 2, "merchant_daily": 0}
    assert _online(store, CUSTOMER_DAILY, [1])["tx_count_1d__ts"] != [0]


def test_a_table_whose_columns_changed_is_rebuilt(store, repo: FeatureRepo) -> None:
    _write(store, MERCHANT_DAILY, _rows(MERCHANT_DAILY, [1], DAY, seed=1))
    online = project_online_store(store)
    assert online is not None
    path = online.db_path(store.config)
    name = table_name(store.project, MERCHANT_DAILY.view_name)
    with sqlite3.connect(path) as connection:
        connection.execute(f'ALTER TABLE "{name}" DROP COLUMN merchant_tx_count_7d')

    ensure_online_tables(store, repo)

    assert _online(store, MERCHANT_DAILY, [1])["merchant_tx_count_7d__ts"] == [0]  # empty
    assert _write(store, MERCHANT_DAILY, _rows(MERCHANT_DAILY, [1], DAY, seed=1)) == 1


def test_newest_online_timestamp_is_the_newest_event_of_any_view(store) -> None:
    views = [store.get_feature_view(t.view_name) for t in FEATURE_TABLES]
    assert newest_online_timestamp(store, views) is None
    _write(store, CUSTOMER_DAILY, _rows(CUSTOMER_DAILY, [1], DAY, seed=1))
    _write(store, MERCHANT_DAILY, _rows(MERCHANT_DAILY, [1], DAY + dt.timedelta(days=1), 1))
    assert newest_online_timestamp(store, views) == day_end(DAY + dt.timedelta(days=1))


def test_newest_online_timestamp_on_redis_is_unknown_but_checks_the_store(
    settings: Settings, repo: FeatureRepo
) -> None:
    import dataclasses

    with redis_server() as server:
        on_redis = dataclasses.replace(settings, feast_online_store=server.url)
        store = feature_store(on_redis)
        store.apply(repo.objects())
        views = [store.get_feature_view(t.view_name) for t in FEATURE_TABLES]
        assert project_online_store(store) is None
        assert newest_online_timestamp(store, views) is None
    with pytest.raises(Exception, match=r"(?i)connect"):
        newest_online_timestamp(feature_store(on_redis), views)


def test_the_bulk_path_counts_rows_written_per_view(store, repo: FeatureRepo) -> None:
    offline = Path(repo.offline_dir)
    for table, keys in ((CUSTOMER_DAILY, [1, 2, 3]), (MERCHANT_DAILY, [7])):
        (offline / table.view_name).mkdir(parents=True)
        rows = _rows(table, keys, DAY, seed=1)
        rows.write_parquet(offline / table.view_name / f"{DAY}.parquet")
    assert materialize_latest(store, repo) == {"customer_daily": 3, "merchant_daily": 1}
    assert isinstance(project_online_store(store), PlatformSqliteOnlineStore)
    assert materialize_latest(store, repo) == {"customer_daily": 3, "merchant_daily": 1}


@pytest.mark.parametrize("table", FEATURE_TABLES, ids=lambda t: t.view_name)
def test_feasts_write_to_online_store_reads_back_like_the_bulk_path(
    store, table: FeatureTable
) -> None:
    rows = _rows(table, list(range(1, 21)), DAY, seed=5)
    store.write_to_online_store(table.view_name, df=rows.to_pandas())
    generic = _online(store, table, rows[table.join_key].to_list())

    assert _write(store, table, rows) == 20  # same event time: rewritten
    assert _online(store, table, rows[table.join_key].to_list()) == generic
    assert generic[table.features[0].name] == rows[table.features[0].name].to_list()
