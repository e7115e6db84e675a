"""The platform's own point-in-time join, in Polars, with Feast's exact semantics.

``historical_features`` returns what ``FeatureStore.get_historical_features`` returns for the
``fraud_detection`` service (same columns, same order, same values) but reads the Delta
feature tables directly, lazily and only for the days the entity rows need. Feast's rule
(feast 0.67, ``ibis.point_in_time_join``), reproduced here:

* a feature row joins an entity row with the same join key when
  ``feature.event_timestamp <= entity.event_timestamp`` (a snapshot stamped exactly at the
  entity's time is included) and ``feature.event_timestamp + ttl >= entity.event_timestamp``
  (a snapshot exactly ``ttl`` old is still valid);
* of those, the newest wins; none gives nulls.

The newest snapshot at or before ``t`` is valid iff it is at most ``ttl`` old (an older one can
only be older still), so an as-of join followed by the TTL test is the same rule.
"""

import datetime as dt

import polars as pl

from ml_platform.lib.feature_store.definitions import (
    REQUEST_CUSTOMER_INPUTS,
    REQUEST_SCHEMA,
    FeatureRepo,
    request_features,
)
from ml_platform.lib.features.catalog import (
    FEATURE_DATE,
    REQUEST_FEATURES,
    TIMESTAMP,
    FeatureTable,
)
from ml_platform.lib.lake.delta import DeltaLake

_UTC_US = pl.Datetime("us", "UTC")
_FEATURE_TS = "__feature_event_timestamp"
# A snapshot of feature_date d is stamped at the end of d (d + 1 day, 00:00 UTC). Partition
# pruning allows this much slack around that convention; the exact filter is on the timestamp.
_DATE_SLACK = dt.timedelta(days=2)


def historical_features(
    lake: DeltaLake, entity_df: pl.DataFrame, repo: FeatureRepo
) -> pl.DataFrame:
    """Point-in-time correct features of the ``fraud_detection`` service for entity rows.

    Args:
        lake: The lake holding the Delta feature tables.
        entity_df: One row per transaction to describe: ``customer_id``, ``merchant_id``,
            ``event_timestamp`` (a naive timestamp is taken as UTC), the request fields of
            ``REQUEST_SCHEMA`` and any other columns (passed through).
        repo: The Feast definitions (feature views, TTL).

    Returns:
        ``entity_df``'s columns in their order (``event_timestamp`` as UTC microseconds), then
        every customer feature, every merchant feature and the request features, as
        ``get_historical_features(features=<fraud_detection>).to_df()`` names and orders
        them. Rows keep the order of ``entity_df``.
    """
    _check_entity_df(entity_df, repo)
    entities = entity_df.with_columns(_as_utc(entity_df.schema[TIMESTAMP])).with_row_index("__row")
    ts = entities.get_column(TIMESTAMP)
    out = entities
    if entities.height:
        start, end = ts.min(), ts.max()
        assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        for table in repo.tables:
            ttl = repo.feature_view(table).ttl or None  # Feast: a zero TTL never expires
            snapshots = _snapshots(lake, table, start - ttl if ttl else None, end)
            out = _join_as_of(out, snapshots, table, ttl)
    else:
        for table in repo.tables:
            out = out.with_columns(pl.lit(None, f.dtype).alias(f.name) for f in table.features)
    out = pl.concat([out, _request_frame(out)], how="horizontal")
    feature_columns = [f.name for t in repo.tables for f in t.features]
    feature_columns += [f.name for f in REQUEST_FEATURES]
    return out.sort("__row").select(*entity_df.columns, *feature_columns)


def _check_entity_df(entity_df: pl.DataFrame, repo: FeatureRepo) -> None:
    required = [t.join_key for t in repo.tables] + list(REQUEST_SCHEMA)
    missing = [c for c in dict.fromkeys(required) if c not in entity_df.columns]
    if missing:
        raise ValueError(f"entity_df lacks columns {missing}")
    if not isinstance(entity_df.schema[TIMESTAMP], pl.Datetime):
        raise TypeError(f"entity_df.{TIMESTAMP} must be a Datetime column")
    if entity_df.get_column(TIMESTAMP).null_count():
        raise ValueError(f"entity_df.{TIMESTAMP} has nulls")
    features = {f.name for t in repo.tables for f in t.features} | {
        f.name for f in REQUEST_FEATURES
    }
    clashes = sorted(features.intersection(entity_df.columns))
    if clashes:
        raise ValueError(f"entity_df columns {clashes} clash with feature names")


def _as_utc(dtype: pl.DataType) -> pl.Expr:
    column = pl.col(TIMESTAMP)
    assert isinstance(dtype, pl.Datetime)
    if dtype.time_zone is None:
        column = column.dt.replace_time_zone("UTC")
    return column.dt.convert_time_zone("UTC").cast(_UTC_US)


def _snapshots(
    lake: DeltaLake, table: FeatureTable, start: dt.datetime | None, end: dt.datetime
) -> pl.DataFrame:
    """Rows of a feature table stamped in ``[start, end]``, only the needed columns."""
    window = (pl.col(FEATURE_DATE) <= (end + _DATE_SLACK).date()) & (pl.col(TIMESTAMP) <= end)
    if start is not None:
        window &= pl.col(FEATURE_DATE) >= (start - _DATE_SLACK).date()
        window &= pl.col(TIMESTAMP) >= start
    return (
        lake.scan(table.name)
        .filter(window)
        .select(table.join_key, TIMESTAMP, *(f.name for f in table.features))
        .rename({TIMESTAMP: _FEATURE_TS})
        .sort(_FEATURE_TS)
        .collect()
    )


def _join_as_of(
    entities: pl.DataFrame,
    snapshots: pl.DataFrame,
    table: FeatureTable,
    ttl: dt.timedelta | None,
) -> pl.DataFrame:
    """Attach to each entity row the newest snapshot at or before it, if at most ``ttl`` old."""
    joined = entities.sort(TIMESTAMP).join_asof(
        snapshots,
        left_on=TIMESTAMP,
        right_on=_FEATURE_TS,
        by=table.join_key,
        strategy="backward",  # feature timestamp <= entity timestamp, equality included
        check_sortedness=False,
    )
    names = [f.name for f in table.features]
    if ttl is None:
        return joined.drop(_FEATURE_TS)
    valid = (pl.col(TIMESTAMP) - pl.col(_FEATURE_TS)) <= ttl
    return joined.with_columns(
        pl.when(valid).then(pl.col(n)).otherwise(None).alias(n) for n in names
    ).drop(_FEATURE_TS)


def _request_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The request features, computed row by row by the on-demand view's own function."""
    inputs = [*REQUEST_SCHEMA, *REQUEST_CUSTOMER_INPUTS]
    rows = frame.select(inputs).to_dict(as_series=False)
    schema = {f.name: f.dtype for f in REQUEST_FEATURES}
    return pl.DataFrame(request_features(rows), schema=schema)
