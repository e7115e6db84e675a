"""The Feast objects of the platform, generated from the feature catalog.

Nothing here names a feature by hand: entities, sources, feature views and their schemas come
from ``ml_platform.lib.features.catalog``, so the feature tables, Feast and the docs cannot
drift apart. The feature views read the pipeline's Parquet export of the Delta feature tables
(see ``export.py``), one file per day under ``<offline_dir>/<view_name>/``.

The request-time features (``REQUEST_FEATURES``) are computed by one plain function,
``request_features``, used by Feast's on-demand view (training and online serving) and by the
project's own Polars retrieval, so every path shares one definition.
"""

import datetime as dt
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from feast import (
    Entity,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    OnDemandFeatureView,
    RequestSource,
    ValueType,
)
from feast.data_format import ParquetFormat
from feast.types import Float64, Int64, PrimitiveFeastType, String, UnixTimestamp

from ml_platform.lib.features.catalog import (
    CHANNEL_CODES,
    CUSTOMER_DAILY,
    FEATURE_TABLES,
    REQUEST_FEATURES,
    TIMESTAMP,
    FeatureTable,
)

FEATURE_TTL = dt.timedelta(days=2)
"""How old a daily snapshot may be and still describe its entity.

A transaction at time t gets the newest snapshot with ``event_timestamp <= t`` (a snapshot is
stamped at the end of its day), provided that ``event_timestamp >= t - FEATURE_TTL``. Two days
tolerate one late daily run; a snapshot older than that is treated as missing (nulls), the same
as an entity with no history at all.
"""

SERVICE_NAME = "fraud_detection"
REQUEST_SOURCE_NAME = "transaction"
REQUEST_VIEW_NAME = "transaction_request_features"

# Request fields: what the caller knows about the transaction being scored. They carry a
# ``transaction_`` prefix because a request field may not share a name with an output feature:
# Feast's historical retrieval would return two ``amount`` columns.
TRANSACTION_AMOUNT = "transaction_amount"
TRANSACTION_COUNTRY = "transaction_country"
TRANSACTION_CHANNEL = "transaction_channel"
REQUEST_SCHEMA: dict[str, PrimitiveFeastType] = {
    # The transaction time is the entity row's own ``event_timestamp``. Feast hands the entity
    # dataframe's columns to an on-demand view in historical retrieval but not online, so it is
    # also declared as a request field: the online caller passes ``event_timestamp`` next to
    # the join keys, and the same column name works for both retrieval paths.
    TIMESTAMP: UnixTimestamp,
    TRANSACTION_AMOUNT: Float64,
    TRANSACTION_COUNTRY: String,
    TRANSACTION_CHANNEL: String,
}
TRANSACTION_REQUEST_COLUMNS = {
    "amount": TRANSACTION_AMOUNT,
    "country": TRANSACTION_COUNTRY,
    "channel": TRANSACTION_CHANNEL,
}
"""silver/transactions column -> request field, for building entity dataframes."""

UNKNOWN_CHANNEL_CODE = -1
"""``channel_code`` of a channel outside ``CHANNEL_CODES`` (silver has none; a request may)."""

# Customer features the request-time features read (inputs of the on-demand view).
REQUEST_CUSTOMER_INPUTS = ("amount_mean_30d", "home_country")

_FEAST_TYPES: dict[type[pl.DataType], PrimitiveFeastType] = {
    pl.Int64: Int64,
    pl.Float64: Float64,
    pl.String: String,
}


def request_features(rows: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Compute ``REQUEST_FEATURES`` for a batch of transactions, column by column.

    The single definition of the request-time features: Feast's on-demand view calls it (in
    historical retrieval and online) and so does ``retrieval.historical_features``.

    Args:
        rows: Equal-length lists keyed by the request fields (``event_timestamp``,
            ``transaction_amount``, ``transaction_country``, ``transaction_channel``) and the
            customer features ``amount_mean_30d`` and ``home_country`` (``None`` when unknown).
            Timestamps are datetimes; a naive one is taken as UTC.

    Returns:
        One list per feature of ``REQUEST_FEATURES``, in catalog order: ``amount``;
        ``amount_to_mean_30d`` (null when the mean is null or 0); ``hour_of_day`` (UTC);
        ``is_foreign`` (1 when the transaction country differs from the customer's home
        country, 0 when they match or either is unknown); ``channel_code`` (``CHANNEL_CODES``;
        ``UNKNOWN_CHANNEL_CODE`` for any other channel: never null, because Feast's apply
        infers each output's type by calling the view on sample strings and cannot type a
        null).
    """
    amounts = rows[TRANSACTION_AMOUNT]
    means = rows["amount_mean_30d"]
    homes = rows["home_country"]
    out: dict[str, list[Any]] = {
        "amount": [None if a is None else float(a) for a in amounts],
        "amount_to_mean_30d": [
            None if a is None or m is None or m == 0 else a / m
            for a, m in zip(amounts, means, strict=True)
        ],
        "hour_of_day": [_utc_hour(t) for t in rows[TIMESTAMP]],
        "is_foreign": [
            int(c is not None and h is not None and c != h)
            for c, h in zip(rows[TRANSACTION_COUNTRY], homes, strict=True)
        ],
        "channel_code": [
            CHANNEL_CODES.get(c, UNKNOWN_CHANNEL_CODE) for c in rows[TRANSACTION_CHANNEL]
        ],
    }
    return out


def _utc_hour(ts: dt.datetime | None) -> int | None:
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC)
    return ts.hour


def transaction_request_features(inputs: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Feast UDF of the on-demand view: delegates to ``request_features``.

    Feast stores this function's source text in the registry and, when it loads the view back,
    executes that text in a bare namespace, so the body imports what it needs. Keeping it a
    stub means the registry never holds a stale copy of the logic.
    """
    from ml_platform.lib.feature_store.definitions import request_features

    return request_features(inputs)


@dataclass(frozen=True, eq=False)
class FeatureRepo:
    """Every Feast object of the platform, built for one offline export folder."""

    offline_dir: str
    entities: tuple[Entity, ...]
    sources: tuple[FileSource, ...]
    feature_views: tuple[FeatureView, ...]
    request_source: RequestSource
    request_view: OnDemandFeatureView
    service: FeatureService
    tables: tuple[FeatureTable, ...] = FEATURE_TABLES

    def objects(self) -> list[Any]:
        """Everything to ``apply``, dependencies first."""
        return [
            *self.entities,
            *self.sources,
            *self.feature_views,
            self.request_source,
            self.request_view,
            self.service,
        ]

    def feature_view(self, table: FeatureTable) -> FeatureView:
        """The feature view of a catalog table."""
        return next(v for v in self.feature_views if v.name == table.view_name)


def _feast_type(dtype: pl.DataType) -> PrimitiveFeastType:
    try:
        return _FEAST_TYPES[type(dtype)]
    except KeyError:
        raise TypeError(f"no Feast type for Polars dtype {dtype}") from None


def _entity(table: FeatureTable) -> Entity:
    return Entity(
        name=table.entity,
        join_keys=[table.join_key],
        value_type=ValueType.INT64,
        description=f"Join key {table.join_key}.",
    )


def _source(table: FeatureTable, offline_dir: str) -> FileSource:
    return FileSource(
        name=f"{table.view_name}_parquet",
        path=f"{offline_dir}/{table.view_name}/*.parquet",
        file_format=ParquetFormat(),
        timestamp_field=TIMESTAMP,
        # No created_timestamp_column: one row per entity and day, and feast #6615 leaks
        # future rows through it.
        description=f"Daily Parquet export of the Delta table {table.name}.",
    )


def _feature_view(table: FeatureTable, entity: Entity, source: FileSource) -> FeatureView:
    return FeatureView(
        name=table.view_name,
        entities=[entity],
        ttl=FEATURE_TTL,
        schema=[
            Field(name=table.join_key, dtype=Int64),
            *(
                Field(name=f.name, dtype=_feast_type(f.dtype), description=f.description)
                for f in table.features
            ),
        ],
        source=source,
        online=True,
        description=table.description,
    )


def _request_view(customer: FeatureView, request: RequestSource) -> OnDemandFeatureView:
    return OnDemandFeatureView(
        name=REQUEST_VIEW_NAME,
        sources=[customer[list(REQUEST_CUSTOMER_INPUTS)], request],
        # No descriptions here: Feast checks this schema against the fields it infers by calling
        # the UDF on sample input, and an inferred field has none.
        schema=[Field(name=f.name, dtype=_feast_type(f.dtype)) for f in REQUEST_FEATURES],
        mode="python",  # plain lists in, plain lists out: sub-millisecond online
        udf=transaction_request_features,  # type: ignore[arg-type]  # a def is a FunctionType
        udf_string=inspect.getsource(transaction_request_features),
        description="Features of the transaction being scored, computed at request time.",
    )


def _absolute(offline_dir: str) -> str:
    # Feast's DuckDB store reads a relative source path from the process's working directory
    # (not the repo), and the path is stored in the registry: always register it absolute.
    if "://" in offline_dir:
        return offline_dir.rstrip("/")
    return str(Path(offline_dir).expanduser().absolute())


def build_feature_repo(offline_dir: str) -> FeatureRepo:
    """Build every Feast object of the platform.

    Args:
        offline_dir: Folder of the Parquet exports (``<offline_dir>/<view_name>/<day>.parquet``);
            a relative path is made absolute.

    Returns:
        The entities, sources, feature views, request source, on-demand view and the
        ``fraud_detection`` feature service.
    """
    offline_dir = _absolute(offline_dir)
    tables = FEATURE_TABLES
    entities = {t.entity: _entity(t) for t in tables}
    sources = {t.view_name: _source(t, offline_dir) for t in tables}
    views = {
        t.view_name: _feature_view(t, entities[t.entity], sources[t.view_name]) for t in tables
    }
    request = RequestSource(
        name=REQUEST_SOURCE_NAME,
        schema=[Field(name=n, dtype=t) for n, t in REQUEST_SCHEMA.items()],
        description="The transaction being scored.",
    )
    request_view = _request_view(views[CUSTOMER_DAILY.view_name], request)
    service = FeatureService(
        name=SERVICE_NAME,
        features=[*views.values(), request_view],
        description="Everything the fraud model reads: customer and merchant snapshots and "
        "the request-time transaction features.",
    )
    return FeatureRepo(
        offline_dir=offline_dir,
        entities=tuple(entities.values()),
        sources=tuple(sources.values()),
        feature_views=tuple(views.values()),
        request_source=request,
        request_view=request_view,
        service=service,
    )
