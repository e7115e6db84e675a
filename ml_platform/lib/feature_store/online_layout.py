"""The table layout of the project's SQLite online store (``online_store.py``).

One table per feature view, ``<project>_<view>__entity_rows``; one row per entity:
``entity_key`` (the value of the view's single join key, primary key), ``event_ts`` and
``created_ts`` (microseconds since the epoch, UTC), one typed column per feature (``INTEGER``,
``REAL``, ``TEXT``, ``BLOB``; composite types as a serialized ``Value`` proto); a null is
``NULL``. ``Layout`` names the columns of a view's table, writes its SQL and converts values
between Feast's ``Value`` protos, plain Python and the stored columns.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from feast import FeatureView
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type
from feast.value_type import ValueType

TABLE_SUFFIX = "__entity_rows"
KEY, EVENT_TS, CREATED_TS = "entity_key", "event_ts", "created_ts"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


# Scalar Feast types: (SQLite column type, field of the Value proto, Python type).
SCALARS: dict[ValueType, tuple[str, str, type]] = {
    ValueType.INT32: ("INTEGER", "int32_val", int),
    ValueType.INT64: ("INTEGER", "int64_val", int),
    ValueType.FLOAT: ("REAL", "float_val", float),
    ValueType.DOUBLE: ("REAL", "double_val", float),
    ValueType.STRING: ("TEXT", "string_val", str),
    ValueType.BOOL: ("INTEGER", "bool_val", bool),
    ValueType.BYTES: ("BLOB", "bytes_val", bytes),
    ValueType.UNIX_TIMESTAMP: ("INTEGER", "unix_timestamp_val", int),
}


def table_name(project: str, view_name: str) -> str:
    """The SQLite table holding feature view ``view_name`` of ``project``."""
    return f"{project}_{view_name}{TABLE_SUFFIX}"


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def micros(value: dt.datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC (as Feast does)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> dt.datetime:
    """The UTC datetime of ``value`` microseconds since the epoch."""
    return _EPOCH + dt.timedelta(microseconds=value)


class Layout:
    """The table of one feature view: its name, columns and value conversions."""

    def __init__(self, project: str, view: FeatureView) -> None:
        if len(view.entity_columns) != 1:
            raise ValueError(
                "the project's SQLite online store needs exactly one join key per feature "
                f"view; {view.name!r} has {[c.name for c in view.entity_columns]}"
            )
        self.name = table_name(project, view.name)
        self.join_key = view.entity_columns[0].name
        key_type = view.entity_columns[0].dtype.to_value_type()
        if key_type not in SCALARS:
            raise ValueError(f"{view.name!r}: join key type {key_type.name} is not supported")
        self.key_sql = SCALARS[key_type][0]
        self.features = [f.name for f in view.features]
        clash = {KEY, EVENT_TS, CREATED_TS} & set(self.features)
        if clash:
            raise ValueError(f"{view.name!r}: feature names {sorted(clash)} are reserved")
        scalars = [SCALARS.get(f.dtype.to_value_type()) for f in view.features]
        # Any other type (lists, maps, ...) is stored as its serialized Value proto.
        self.serialized = [s is None for s in scalars]
        self.sql_types = [s[0] if s else "BLOB" for s in scalars]
        self.decoders = [_decoder(s) for s in scalars]
        self.python_decoders = [_python_decoder(s) for s in scalars]

    def columns(self) -> list[tuple[str, str]]:
        """(name, declared type) of every column, in table order."""
        # INTEGER PRIMARY KEY makes an integer key the rowid: no separate index to maintain.
        return [
            (KEY, self.key_sql),
            (EVENT_TS, "INTEGER"),
            (CREATED_TS, "INTEGER"),
            *zip(self.features, self.sql_types, strict=True),
        ]

    def create_sql(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` of the view's table."""
        columns = [f"{quote(n)} {t}" for n, t in self.columns()]
        columns[0] += " PRIMARY KEY NOT NULL"
        return f"CREATE TABLE IF NOT EXISTS {quote(self.name)} ({', '.join(columns)})"

    def upsert_sql(self) -> str:
        """Insert or replace a row, unless the stored row has a newer event time."""
        names = [quote(n) for n, _ in self.columns()]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
        return (
            f"INSERT INTO {quote(self.name)} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT({quote(KEY)}) DO UPDATE SET {updates} "
            f"WHERE excluded.{quote(EVENT_TS)} >= {quote(self.name)}.{quote(EVENT_TS)}"
        )

    def to_column(self, index: int, value: ValueProto | None) -> Any:
        """A Value proto as stored in feature column ``index`` (``None`` for a null)."""
        kind = None if value is None else value.WhichOneof("val")
        if value is None or kind is None or kind == "null_val":
            return None
        return value.SerializeToString() if self.serialized[index] else getattr(value, kind)


def _decoder(scalar: tuple[str, str, type] | None) -> Callable[[Any], ValueProto]:
    """Stored value (not null) -> Value proto, for a scalar type or a serialized proto."""
    if scalar is None:
        return ValueProto.FromString
    _, field, python_type = scalar
    return lambda stored: ValueProto(**{field: python_type(stored)})


def _python_decoder(scalar: tuple[str, str, type] | None) -> Callable[[Any], Any]:
    """Stored value (not null) -> the Python value Feast's ``OnlineResponse.to_dict`` gives."""
    if scalar is not None and scalar[1] != "unix_timestamp_val":
        return scalar[2]
    to_proto = _decoder(scalar)
    return lambda stored: feast_value_type_to_python_type(to_proto(stored))


NULL_VALUE = ValueProto()  # shared, as Feast's own response builder does
