"""The features of one transaction, online: Feast's online store plus the request-time features.

Same definitions and the same rules as training and batch scoring
(``lib/feature_store/retrieval.historical_features``):

* the customer and merchant features are read from the Feast online store (feature views
  ``customer_daily`` and ``merchant_daily`` of the ``fraud_detection`` service), with the
  feature references resolved once, at start;
* a snapshot counts only if it is at most the view's TTL (``FEATURE_TTL``, 2 days) older than
  the transaction, as in the point-in-time join; Feast's online read does not check a TTL, so
  it is checked here;
* the request-time features come from ``definitions.request_features``, the one function that
  Feast's on-demand view and the batch retrieval also call.

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
from dataclasses import dataclass
from typing import Any

from feast import FeatureStore

from ml_platform.lib.feature_store.definitions import (
    REQUEST_CUSTOMER_INPUTS,
    SERVICE_NAME,
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
    request_features,
)
from ml_platform.lib.feature_store.online_store import newest_online_timestamp
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

    def __init__(self, store: FeatureStore) -> None:
        """Resolve the service's feature views and references in the registry.

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
        keys = {CUSTOMER_DAILY.join_key: customer_id, MERCHANT_DAILY.join_key: merchant_id}
        online = self.store.get_online_features(
            features=self.references, entity_rows=[keys]
        ).to_dict(include_event_timestamps=True)
        when = event_timestamp.astimezone(dt.UTC)
        values: dict[str, Any] = {}
        defaults_used: list[str] = []
        stamps: dict[str, dt.datetime | None] = {}
        for table in self.tables:
            probe = table.features[0].name
            seconds = online[f"{probe}__ts"][0]
            stamp = dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None
            ttl = self.views[table.entity].ttl
            if stamp is None or when - stamp > ttl:
                values.update(DEFAULT_FEATURES[table.entity])
                defaults_used.append(table.entity)
                stamps[table.entity] = None
            else:
                values.update({f.name: _clean(online[f.name][0]) for f in table.features})
                stamps[table.entity] = stamp
        values.update(request_time_features(values, amount, country, channel, when))
        return TransactionFeatures(values, defaults_used, stamps)

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
    values: dict[str, Any], amount: float, country: str, channel: str, when: dt.datetime
) -> dict[str, Any]:
    """The request-time features of one transaction, by ``definitions.request_features``.

    Args:
        values: The customer features (``amount_mean_30d`` and ``home_country`` are read).
        amount: Transaction amount.
        country: Transaction (merchant) country.
        channel: Channel.
        when: Transaction time (UTC).
    """
    rows: dict[str, list[Any]] = {
        TIMESTAMP: [when],
        TRANSACTION_AMOUNT: [amount],
        TRANSACTION_COUNTRY: [country],
        TRANSACTION_CHANNEL: [channel],
        **{name: [values[name]] for name in REQUEST_CUSTOMER_INPUTS},
    }
    computed = request_features(rows)
    return {f.name: computed[f.name][0] for f in REQUEST_FEATURES}


def _clean(value: Any) -> Any:
    # A null float can come back from the online store as NaN: one spelling, None.
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
