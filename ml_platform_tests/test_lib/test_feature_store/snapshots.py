"""Hand-built daily snapshots and entity rows for the feature-store tests."""

import datetime as dt
import random
from collections.abc import Iterable, Sequence

import polars as pl
import pytest
from feast import FeatureStore

from ml_platform.lib.feature_store.definitions import (
    SERVICE_NAME,
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
)
from ml_platform.lib.feature_store.export import export_days
from ml_platform.lib.feature_store.store import offline_dir
from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_DATE,
    MERCHANT_DAILY,
    TIMESTAMP,
    FeatureTable,
)
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import Settings

UTC = dt.UTC
COUNTRIES = ("US", "GB", "FR", None)
CHANNELS = ("atm", "online", "pos")

FEAST_WARNINGS = pytest.mark.filterwarnings(
    "ignore:On demand feature view is an experimental feature:RuntimeWarning",
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning",
)
"""Third-party noise on every Feast retrieval (feast 0.67, ibis 12 on duckdb 2.0)."""


def day_end(day: dt.date) -> dt.datetime:
    """The event_timestamp of a snapshot of ``day``: the next midnight, UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)


def snapshot_rows(
    table: FeatureTable, ids: Iterable[int], day: dt.date, rng: random.Random
) -> pl.DataFrame:
    """One random snapshot row per entity for ``day``, with every column of the table."""
    ids = list(ids)
    columns: dict[str, list] = {
        table.join_key: ids,
        TIMESTAMP: [day_end(day)] * len(ids),
        FEATURE_DATE: [day] * len(ids),
    }
    for feature in table.features:
        if feature.dtype == pl.String():
            values = [rng.choice(COUNTRIES) for _ in ids]
        elif feature.dtype == pl.Int64():
            values = [rng.randrange(0, 50) for _ in ids]
        else:
            values = [_random_float(rng) for _ in ids]
        columns[feature.name] = values
    return pl.DataFrame(columns, schema=table.schema)


def _random_float(rng: random.Random) -> float | None:
    """Mostly positive, sometimes null, sometimes 0 (then amount_to_mean_30d must be null)."""
    draw = rng.random()
    if draw < 0.1:
        return None
    if draw < 0.15:
        return 0.0
    return rng.uniform(0, 500)


def write_snapshots(lake: DeltaLake, table: FeatureTable, frame: pl.DataFrame) -> None:
    """Replace the whole Delta feature table with ``frame`` (partitioned like the real one)."""
    lake.replace(table.name, frame, None, [FEATURE_DATE])


def random_snapshots(
    table: FeatureTable, ids: Sequence[int], days: Sequence[dt.date], seed: int
) -> pl.DataFrame:
    """Snapshots of most entities on most days (some gaps, so the TTL matters)."""
    rng = random.Random(seed)
    frames = [
        snapshot_rows(table, [i for i in ids if rng.random() < 0.85], day, rng) for day in days
    ]
    return pl.concat(frames)


def random_entity_rows(
    customers: Sequence[int],
    merchants: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    seed: int,
) -> pl.DataFrame:
    """Random transactions: entity keys, a UTC timestamp in [start, end] and request fields."""
    rng = random.Random(seed)
    span = int((end - start).total_seconds())
    stamps = [start + dt.timedelta(seconds=rng.randrange(span + 1)) for _ in range(n)]
    # Exact snapshot times and exact TTL edges are where point-in-time bugs live.
    for i in range(0, n, 10):
        stamps[i] = stamps[i].replace(minute=0, second=0)
    return pl.DataFrame(
        {
            CUSTOMER_DAILY.join_key: [rng.choice(customers) for _ in range(n)],
            MERCHANT_DAILY.join_key: [rng.choice(merchants) for _ in range(n)],
            TIMESTAMP: stamps,
            TRANSACTION_AMOUNT: [round(rng.uniform(1, 900), 2) for _ in range(n)],
            TRANSACTION_COUNTRY: [rng.choice(COUNTRIES[:3]) for _ in range(n)],
            TRANSACTION_CHANNEL: [rng.choice(CHANNELS) for _ in range(n)],
        },
        schema_overrides={TIMESTAMP: pl.Datetime("us", "UTC")},
    )


def export_all(lake: DeltaLake, settings: Settings, table: FeatureTable) -> None:
    """Export every day of a table to Feast's Parquet folder."""
    days = lake.scan(table.name).select(FEATURE_DATE).unique().collect().to_series().to_list()
    export_days(lake, table, days, offline_dir(settings))


def feast_historical(store: FeatureStore, entity_df: pl.DataFrame) -> pl.DataFrame:
    """Feast's ``get_historical_features`` for the service, as Polars (NaN → null)."""
    service = store.get_feature_service(SERVICE_NAME)
    frame = store.get_historical_features(entity_df=entity_df.to_pandas(), features=service).to_df()
    return pl.from_pandas(frame, nan_to_null=True)
