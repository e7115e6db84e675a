"""The features of transactions, online: Feast's online store plus the request-time features.

Same definitions and the same rules as training and batch scoring
(``lib/feature_store/retrieval.historical_features``):

* the customer and merchant features are read from the Feast online store (feature views
  ``customer_daily`` and ``merchant_daily`` of the ``fraud_detection`` service, resolved once,
  at start, in Feast's registry);
* a snapshot counts only if it is at most the view's TTL (``FEATURE_TTL``, 2 days) older than
  the transaction, as in the point-in-time join; Feast's online read does not check a TTL, so
  it is checked here;
* the request-time features come from ``definitions.request_features``, the one function that
  Feast's on-demand view and the batch retrieval also call.

``lookup_many`` reads any number of transactions with one ``SELECT … IN (…)`` per view and
applies these rules row by row; ``lookup`` is ``lookup_many`` of one transaction, so both give
the same answer. On the project's SQLite store (the default) the rows are read with the store's
own ``read_rows``, as plain Python values: Feast's ``get_online_features`` builds an entity-key
proto per row and a ``Value`` proto per feature and row, ~25 ms for 100 transactions, most of
the lookup. On any other online store (Redis) the read goes through ``get_online_features``.
Both reads give the same features (tested on the same store).

**Defaults.** An entity with no valid snapshot (never seen, or its newest snapshot older than
the TTL) gets ``DEFAULT_FEATURES``: every feature of its view *missing* (``None``). That is
exactly what training and batch scoring give the model for such an entity (the
point-in-time join yields nulls), so the model was trained on it: LightGBM sends a missing
value down each split's learned default branch. Inventing values instead (zeros, population
means) would show the model inputs it never saw for a new customer. The request-time features
are still computed; without a customer snapshot ``amount_to_mean_30d`` is missing and
``is_foreign`` is 0 (home country unknown), as in batch. The response lists such entities in
``defaults_used``.
"""

import datetime as dt
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from feast import FeatureStore
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type

from ml_platform.lib.feature_store.definitions import (
    REQUEST_CUSTOMER_INPUTS,
    SERVICE_NAME,
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
    request_features,
)
from ml_platform.lib.feature_store.online_store import (
    PlatformSqliteOnlineStore,
    newest_online_timestamp,
    project_online_store,
)
from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_TABLES,
    MERCHANT_DAILY,
    REQUEST_FEATURES,
    TIMESTAMP,
)

DEFAULT_FEATURES: dict[str, dict[str, None]] = {
    table.entity: {feature.name: None for feature in table.features} for table in FEATURE_TABLES
}
"""Per entity (``customer``, ``merchant``): the values used when it has no valid snapshot."""

FRESHNESS_CACHE_SECONDS = 10.0
"""How long ``newest_online_timestamp`` reuses its answer (a query per feature view)."""

Snapshot = tuple[dt.datetime | None, list[Any] | None]
"""An entity's online row: its event time and feature values, or ``(None, None)`` if absent."""


class TransactionInput(NamedTuple):
    """What the features of a transaction depend on (a plain 6-tuple in this order works too)."""

    customer_id: int
    merchant_id: int
    amount: float
    country: str
    channel: str
    event_timestamp: dt.datetime


@dataclass(frozen=True)
class TransactionFeatures:
    """What the model gets for one transaction.

    Attributes:
        values: Every feature of the service by name (customer, merchant, request-time),
            ``None`` where missing.
        defaults_used: Entities that got ``DEFAULT_FEATURES`` (``customer``, ``merchant``).
        snapshot_timestamps: Per entity, the event time of the online snapshot used.
    """

    values: dict[str, Any]
    defaults_used: list[str]
    snapshot_timestamps: dict[str, dt.datetime | None]


class OnlineFeatures:
    """Looks up transactions in a Feast online store; references resolved once."""

    def __init__(self, store: FeatureStore, *, through_feast: bool = False) -> None:
        """Resolve the service's feature views and references in the registry.

        Args:
            store: The Feast feature store.
            through_feast: Read through ``get_online_features`` even on the project's SQLite
                store (to compare both reads; slower).

        Raises:
            ValueError: If the registered ``fraud_detection`` service lacks a view or feature
                of the catalog (the feature store was not applied with these definitions).
        """
        self.store = store
        service = store.get_feature_service(SERVICE_NAME)
        registered = {
            p.name: {f.name for f in p.features} for p in service.feature_view_projections
        }
        self.tables = FEATURE_TABLES
        self.views = {}
        for table in self.tables:
            missing = {f.name for f in table.features} - registered.get(table.view_name, set())
            if missing:
                raise ValueError(
                    f"feature service {SERVICE_NAME!r} lacks {table.view_name}: {sorted(missing)}"
                )
            view = store.get_feature_view(table.view_name)
            if view.ttl is None:
                raise ValueError(f"feature view {table.view_name} has no TTL")
            self.views[table.entity] = view
        self.references = [f"{t.view_name}:{f.name}" for t in self.tables for f in t.features]
        self._direct = None if through_feast else project_online_store(store)
        self._freshness: tuple[float, dt.datetime | None] | None = None

    def lookup(
        self,
        customer_id: int,
        merchant_id: int,
        amount: float,
        country: str,
        channel: str,
        event_timestamp: dt.datetime,
    ) -> TransactionFeatures:
        """Every feature of the service for one transaction (see the module docstring)."""
        transaction = TransactionInput(
            customer_id, merchant_id, amount, country, channel, event_timestamp
        )
        return self.lookup_many([transaction])[0]

    def lookup_many(self, transactions: Sequence[TransactionInput]) -> list[TransactionFeatures]:
        """Every feature of the service for each transaction, with one online read.

        Args:
            transactions: The transactions, in any order; an entity may appear more than once.

        Returns:
            One ``TransactionFeatures`` per transaction, in input order, each equal to what
            ``lookup`` returns for it. An empty input reads nothing and returns ``[]``.
        """
        if not transactions:
            return []
        customers, merchants, amounts, countries, channels, events = zip(*transactions, strict=True)
        keys = {CUSTOMER_DAILY.entity: customers, MERCHANT_DAILY.entity: merchants}
        if self._direct is not None:
            snapshots = self._read_direct(self._direct, keys)
        else:
            snapshots = self._read_through_feast(keys)
        whens = [event.astimezone(dt.UTC) for event in events]
        values: list[dict[str, Any]] = [{} for _ in transactions]
        defaults_used: list[list[str]] = [[] for _ in transactions]
        stamps: list[dict[str, dt.datetime | None]] = [{} for _ in transactions]
        for table in self.tables:
            names = [f.name for f in table.features]
            ttl = self.views[table.entity].ttl
            default = DEFAULT_FEATURES[table.entity]
            for i, (when, (stamp, found)) in enumerate(
                zip(whens, snapshots[table.entity], strict=True)
            ):
                if stamp is None or found is None or when - stamp > ttl:
                    values[i].update(default)
                    defaults_used[i].append(table.entity)
                    stamps[i][table.entity] = None
                else:
                    values[i].update(zip(names, found, strict=True))
                    stamps[i][table.entity] = stamp
        requested = request_time_features_many(values, amounts, countries, channels, whens)
        for row, computed in zip(values, requested, strict=True):
            row.update(computed)
        return [
            TransactionFeatures(row, used, stamp)
            for row, used, stamp in zip(values, defaults_used, stamps, strict=True)
        ]

    def _read_direct(
        self, online: PlatformSqliteOnlineStore, keys: Mapping[str, Sequence[Any]]
    ) -> dict[str, list[Snapshot]]:
        """Per entity, the snapshot of each key, in order, from the project's SQLite store."""
        snapshots: dict[str, list[Snapshot]] = {}
        for table in self.tables:
            names = [f.name for f in table.features]
            view = self.views[table.entity]
            found = online.read_rows(self.store.config, view, keys[table.entity], names)
            snapshots[table.entity] = [found.get(key, (None, None)) for key in keys[table.entity]]
        return snapshots

    def _read_through_feast(self, keys: Mapping[str, Sequence[Any]]) -> dict[str, list[Snapshot]]:
        """Per entity, the snapshot of each key, in order, with one ``get_online_features``."""
        join_keys = [table.join_key for table in self.tables]
        per_row = zip(*(keys[table.entity] for table in self.tables), strict=True)
        rows = [dict(zip(join_keys, row, strict=True)) for row in per_row]
        response = self.store.get_online_features(features=self.references, entity_rows=rows)
        # Read from the response proto: OnlineResponse.to_dict converts every value through
        # Feast's generic converter and every column's timestamps (~5x longer for 100 rows).
        vectors = dict(
            zip(response.proto.metadata.feature_names.val, response.proto.results, strict=True)
        )
        snapshots: dict[str, list[Snapshot]] = {}
        for table in self.tables:
            names = [f.name for f in table.features]
            columns = [_python_values(vectors[name].values) for name in names]
            # One event time per view and row: the first feature's (0 when absent).
            seconds = [stamp.seconds for stamp in vectors[names[0]].event_timestamps]
            snapshots[table.entity] = [
                (dt.datetime.fromtimestamp(second, dt.UTC), [c[i] for c in columns])
                if second
                else (None, None)
                for i, second in enumerate(seconds)
            ]
        return snapshots

    def warm_up(self) -> None:
        """Look up a made-up transaction once, before the first real request.

        Feast builds and caches its request context on the first call (~50 ms).
        """
        self.lookup(0, 0, 1.0, "US", "pos", dt.datetime.now(dt.UTC))

    def newest_online_timestamp(self) -> dt.datetime | None:
        """Event time of the newest row of any view in the online store (cached briefly).

        Read through ``online_store.newest_online_timestamp``: exact on the project's SQLite
        store; ``None`` (unknown) on other stores (Redis), after checking that the store
        answers a lookup.

        Raises:
            Exception: If the online store cannot be read (``sqlite3.Error``, a Redis
                connection error).
        """
        now = time.monotonic()
        if self._freshness and now - self._freshness[0] < FRESHNESS_CACHE_SECONDS:
            return self._freshness[1]
        stamp = newest_online_timestamp(self.store, self.views.values())
        self._freshness = (now, stamp)
        return stamp


def request_time_features(
    values: Mapping[str, Any], amount: float, country: str, channel: str, when: dt.datetime
) -> dict[str, Any]:
    """The request-time features of one transaction: ``request_time_features_many`` of one."""
    return request_time_features_many([values], [amount], [country], [channel], [when])[0]


def request_time_features_many(
    values: Sequence[Mapping[str, Any]],
    amounts: Sequence[float],
    countries: Sequence[str],
    channels: Sequence[str],
    whens: Sequence[dt.datetime],
) -> list[dict[str, Any]]:
    """The request-time features of transactions, by one ``definitions.request_features`` call.

    Args:
        values: Per transaction, its customer features (``amount_mean_30d`` and
            ``home_country`` are read).
        amounts: Transaction amounts.
        countries: Transaction (merchant) countries.
        channels: Channels.
        whens: Transaction times (UTC).

    Returns:
        Per transaction, in order, every feature of ``REQUEST_FEATURES`` by name.
    """
    rows: dict[str, list[Any]] = {
        TIMESTAMP: list(whens),
        TRANSACTION_AMOUNT: list(amounts),
        TRANSACTION_COUNTRY: list(countries),
        TRANSACTION_CHANNEL: list(channels),
        **{name: [v[name] for v in values] for name in REQUEST_CUSTOMER_INPUTS},
    }
    computed = request_features(rows)
    columns = [(f.name, computed[f.name]) for f in REQUEST_FEATURES]
    return [{name: column[i] for name, column in columns} for i in range(len(rows[TIMESTAMP]))]


def _python_values(values: Iterable[ValueProto]) -> list[Any]:
    """Feast ``Value`` protos as Python values: what ``OnlineResponse.to_dict`` gives, faster.

    Scalars (numbers, strings, bools, bytes) are read directly, with null and NaN as ``None``
    (a null float can come back from the online store as NaN: one spelling); any other kind
    goes through Feast's own converter.
    """
    out: list[Any] = []
    for value in values:
        kind = value.WhichOneof("val")
        if kind is None or kind == "null_val":
            out.append(None)
        elif kind in _SCALAR_KINDS:
            scalar = getattr(value, kind)
            out.append(None if isinstance(scalar, float) and math.isnan(scalar) else scalar)
        else:
            out.append(feast_value_type_to_python_type(value))
    return out


_SCALAR_KINDS = frozenset(
    {"int32_val", "int64_val", "float_val", "double_val", "bool_val", "string_val", "bytes_val"}
)
