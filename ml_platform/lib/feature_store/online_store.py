"""The project's SQLite online store for Feast: one row per entity, one typed column per feature.

Feast's stock ``SqliteOnlineStore`` keeps one row per entity × feature, each value a serialized
protobuf, written one ``execute`` at a time: ~29 s for 100k entities (BENCHMARKS.md). Here:

* one row per entity with a typed column per feature (the layout: ``online_layout.py``);
* no write ever replaces a row with an older one: the upsert carries the rule
  (``ON CONFLICT … DO UPDATE … WHERE excluded.event_ts >= event_ts``).

Feast loads it from ``online_store.type: ml_platform.lib.feature_store.online_store.
PlatformSqliteOnlineStore`` (config class: the same name plus ``Config``, as Feast requires) and
reads it through ``get_online_features``; the scoring service reads plain Python values with
``read_rows`` (no protobuf round trip; the same values, tested). ``write_frame`` is
``materialize_latest``'s bulk path (Polars rows, ``executemany``, one transaction); Feast's
generic ``online_write_batch`` (``feast materialize``, ``write_to_online_store``) writes the
same layout under the same rule.
"""

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
from feast import Entity, FeatureStore, FeatureView
from feast.infra.online_stores.online_store import OnlineStore
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from pydantic import StrictStr

from ml_platform.lib.feature_store.online_layout import (
    EVENT_TS,
    KEY,
    NULL_VALUE,
    Layout,
    from_micros,
    micros,
    quote,
    table_name,
)

STORE_TYPE = "ml_platform.lib.feature_store.online_store.PlatformSqliteOnlineStore"
_READ_BATCH = 10_000  # entity keys per SELECT (SQLite caps bound parameters at 32,766)


class PlatformSqliteOnlineStoreConfig(FeastConfigBaseModel):
    """Configuration of ``PlatformSqliteOnlineStore``: the SQLite file."""

    type: Literal["ml_platform.lib.feature_store.online_store.PlatformSqliteOnlineStore"] = (
        STORE_TYPE
    )
    """Online store type selector (the class's dotted path)."""

    path: StrictStr = "online_store.db"
    """Path of the SQLite file; a relative path is resolved against the repo path."""


class PlatformSqliteOnlineStore(OnlineStore):
    """Feast online store on one SQLite file, one row per entity (see the module docstring).

    One connection per store object, shared by threads (as Feast's stock SQLite store does).
    If the file is deleted or replaced, the next call opens the file now at the path (a write
    creates it), so a long-lived reader sees a rebuilt store.
    """

    def __init__(self) -> None:
        """No connection yet: it is opened on first use."""
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._layouts: dict[tuple[str, str], tuple[tuple[Any, ...], Layout]] = {}

    @staticmethod
    def db_path(config: RepoConfig) -> Path:
        """The SQLite file of ``config`` (relative paths resolved against the repo path)."""
        path = Path(config.online_store.path)
        if not path.is_absolute() and config.repo_path:
            path = Path(config.repo_path) / path
        return path

    def _connection(self, config: RepoConfig) -> sqlite3.Connection:
        path = self.db_path(config)
        with self._lock:
            try:
                stat = os.stat(path)
                file_id: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
            except FileNotFoundError:
                file_id = None
            if self._conn is None or file_id is None or file_id != self._file_id:
                # Not closed here: another thread may still be reading through it.
                path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
                stat = os.stat(path)
                self._file_id = (stat.st_dev, stat.st_ino)
            return self._conn

    def _layout(self, config: RepoConfig, view: FeatureView) -> Layout:
        """The view's table layout, cached while its join key and features stay the same."""
        signature = (*view.entity_columns, *view.features)
        cached = self._layouts.get((config.project, view.name))
        if cached is not None and cached[0] == signature:
            return cached[1]
        layout = Layout(config.project, view)
        self._layouts[(config.project, view.name)] = (signature, layout)
        return layout

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: list[tuple[EntityKeyProto, dict[str, ValueProto], dt.datetime, dt.datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        """Write Feast's rows (entity key, values, event time, created time), never older.

        An entity whose stored event time is newer than the row's keeps its stored row.
        """
        layout = self._layout(config, table)
        rows = [
            (
                _key_value(entity_key),
                micros(event_ts),
                None if created_ts is None else micros(created_ts),
                *(layout.to_column(i, values.get(name)) for i, name in enumerate(layout.features)),
            )
            for entity_key, values, event_ts, created_ts in data
        ]
        connection = self._connection(config)
        with connection:
            connection.executemany(layout.upsert_sql(), rows)
        if progress:
            progress(len(data))

    def online_read(
        self,
        config: RepoConfig,
        table: FeatureView,
        entity_keys: list[EntityKeyProto],
        requested_features: list[str] | None = None,
    ) -> list[tuple[dt.datetime | None, dict[str, ValueProto] | None]]:
        """Per entity key, in order: (event time, {feature: Value}) or (None, None) if absent."""
        layout = self._layout(config, table)
        wanted = requested_features or layout.features
        decoders = [layout.decoders[layout.features.index(name)] for name in wanted]
        keys = [_key_value(k) for k in entity_keys]
        found = self._select(config, layout, keys, wanted)
        result: list[tuple[dt.datetime | None, dict[str, ValueProto] | None]] = []
        for key in keys:
            row = found.get(key)
            if row is None:
                result.append((None, None))
                continue
            values = {
                name: NULL_VALUE if stored is None else decode(stored)
                for name, decode, stored in zip(wanted, decoders, row[2:], strict=True)
            }
            result.append((from_micros(row[1]), values))
        return result

    def read_rows(
        self, config: RepoConfig, view: FeatureView, keys: Sequence[Any], features: Sequence[str]
    ) -> dict[Any, tuple[dt.datetime, list[Any]]]:
        """The stored rows of ``keys`` as plain Python values: ``online_read`` without protos.

        Each value is what ``get_online_features(...).to_dict()`` gives for it (``None`` for
        a null), at a fraction of the cost: no entity-key or ``Value`` protos either way.

        Args:
            config: The store's Feast configuration.
            view: The feature view.
            keys: Join-key values (Python scalars); repeats and unknown keys are fine.
            features: Features of ``view`` to read, in the order wanted.

        Returns:
            ``{key: (event time, [value of each feature])}`` for every key found.
        """
        layout = self._layout(config, view)
        decoders = [layout.python_decoders[layout.features.index(name)] for name in features]
        found = self._select(config, layout, list(dict.fromkeys(keys)), features)
        return {
            key: (
                from_micros(row[1]),
                [
                    None if stored is None else decode(stored)
                    for decode, stored in zip(decoders, row[2:], strict=True)
                ],
            )
            for key, row in found.items()
        }

    def _select(
        self, config: RepoConfig, layout: Layout, keys: Sequence[Any], features: Sequence[str]
    ) -> dict[Any, tuple[Any, ...]]:
        """{key: (key, event_ts, *features)} of the stored rows of ``keys``."""
        names = ", ".join(quote(n) for n in (KEY, EVENT_TS, *features))
        connection = self._connection(config)
        found: dict[Any, tuple[Any, ...]] = {}
        for start in range(0, len(keys), _READ_BATCH):
            batch = keys[start : start + _READ_BATCH]
            query = (
                f"SELECT {names} FROM {quote(layout.name)} "
                f"WHERE {quote(KEY)} IN ({', '.join('?' * len(batch))})"
            )
            found.update((row[0], row) for row in connection.execute(query, batch))
        return found

    def update(
        self,
        config: RepoConfig,
        tables_to_delete: Sequence[FeatureView],
        tables_to_keep: Sequence[FeatureView],
        entities_to_delete: Sequence[Entity],
        entities_to_keep: Sequence[Entity],
        partial: bool,
    ) -> None:
        """Create the tables to keep (a table with other columns is rebuilt empty); drop others.

        Idempotent: an existing table with the view's columns and its rows are left alone.
        """
        connection = self._connection(config)
        with connection:
            for view in tables_to_keep:
                layout = self._layout(config, view)
                existing = [
                    (row[1], row[2].upper())
                    for row in connection.execute(f"PRAGMA table_info({quote(layout.name)})")
                ]
                if existing and existing != layout.columns():
                    connection.execute(f"DROP TABLE {quote(layout.name)}")
                connection.execute(layout.create_sql())
            for view in tables_to_delete:
                connection.execute(
                    f"DROP TABLE IF EXISTS {quote(table_name(config.project, view.name))}"
                )

    def teardown(
        self, config: RepoConfig, tables: Sequence[FeatureView], entities: Sequence[Entity]
    ) -> None:
        """Drop the tables of ``tables`` (the file and any other table stay)."""
        self.update(config, tables, [], entities, [], partial=True)

    def write_frame(
        self, config: RepoConfig, view: FeatureView, rows: pl.DataFrame, timestamp_column: str
    ) -> int:
        """Upsert Polars rows into ``view``'s table in one transaction, never older.

        Args:
            config: The store's Feast configuration.
            view: The feature view (its join key and features name the columns of ``rows``).
            rows: One row per entity: the join key, ``timestamp_column`` (a datetime) and every
                feature of the view; other columns are ignored. Float NaN is stored as null.
            timestamp_column: The event time column.

        Returns:
            Rows written: new entities plus entities whose stored event time was not newer.

        Raises:
            ValueError: A join key is null, or a feature is not a scalar type.
        """
        layout = self._layout(config, view)
        if any(layout.serialized):
            raise ValueError(f"{view.name!r}: write_frame supports scalar feature types only")
        if rows.get_column(layout.join_key).null_count():
            raise ValueError(f"{view.name!r}: rows with a null {layout.join_key}")
        frame = rows.select(
            pl.col(layout.join_key),
            pl.col(timestamp_column).dt.epoch("us"),
            pl.lit(micros(dt.datetime.now(dt.UTC)), dtype=pl.Int64()),
            *(_storable(rows, name) for name in layout.features),
        )
        connection = self._connection(config)
        before = connection.total_changes
        with connection:
            connection.executemany(layout.upsert_sql(), frame.iter_rows())
        return connection.total_changes - before

    def newest_event_timestamp(
        self, config: RepoConfig, views: Iterable[FeatureView]
    ) -> dt.datetime | None:
        """The newest event time stored for any of ``views``; ``None`` when all are empty.

        Raises:
            sqlite3.Error: The file or a table is missing or unreadable.
        """
        connection = self._connection(config)
        newest = None
        for view in views:
            name = quote(table_name(config.project, view.name))
            found = connection.execute(f"SELECT max({EVENT_TS}) FROM {name}").fetchone()[0]
            if found is not None and (newest is None or found > newest):
                newest = found
        return None if newest is None else from_micros(newest)


def _key_value(entity_key: EntityKeyProto) -> Any:
    """The Python value of a single-join-key entity key."""
    if len(entity_key.entity_values) != 1:
        raise ValueError(f"expected one join key, got {list(entity_key.join_keys)}")
    value = entity_key.entity_values[0]
    kind = value.WhichOneof("val")
    return None if kind is None else getattr(value, kind)


def _storable(rows: pl.DataFrame, name: str) -> pl.Expr:
    """A feature column as SQLite stores it: NaN as null, datetimes as epoch seconds."""
    dtype = rows.schema[name]
    column = pl.col(name)
    if dtype.is_float():
        return column.fill_nan(None)
    if isinstance(dtype, pl.Datetime):
        return column.dt.epoch("s")
    return column


def project_online_store(store: FeatureStore) -> PlatformSqliteOnlineStore | None:
    """``store``'s online store object if it is the project's SQLite store, else ``None``."""
    online = getattr(store.provider, "online_store", None)
    return online if isinstance(online, PlatformSqliteOnlineStore) else None


def newest_online_timestamp(
    store: FeatureStore, views: Iterable[FeatureView]
) -> dt.datetime | None:
    """Event time of the newest row of ``views`` in ``store``'s online store.

    On the project's SQLite store: ``SELECT max(event_ts)`` per view. Other stores (Redis) have
    no cheap "newest row" query: this reads one made-up entity through Feast
    (``get_online_features``), which raises if the store is unreachable, and returns ``None``
    (freshness unknown).

    Raises:
        Exception: Whatever the store raises when it cannot be read (``sqlite3.Error``,
            a Redis connection error).
    """
    views = list(views)
    online = project_online_store(store)
    if online is not None:
        return online.newest_event_timestamp(store.config, views)
    for view in views[:1]:
        key = view.entity_columns[0].name
        store.get_online_features(
            features=[f"{view.name}:{view.features[0].name}"], entity_rows=[{key: 0}]
        )
    return None
