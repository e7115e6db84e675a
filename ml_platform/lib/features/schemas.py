"""Pandera (polars backend) models of the feature tables, generated from the catalog.

Each model checks dtypes, nullability, value ranges (counts >= 0, shares in [0, 1], amounts and
standard deviations >= 0), uniqueness of (entity, event_timestamp) and strict columns.
"""

from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.engines.polars_engine import DateTime

from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_DATE,
    MERCHANT_DAILY,
    TIMESTAMP,
    Check,
    FeatureTable,
)

_UTC = {"time_zone": "UTC", "time_unit": "us"}


def _field(check: Check, description: str) -> tuple[Any, Any]:
    if check is Check.COUNT:
        return int, pa.Field(ge=0, description=description)
    if check is Check.NON_NEGATIVE:
        return float, pa.Field(ge=0, description=description)
    if check is Check.NULLABLE_NON_NEGATIVE:
        return float, pa.Field(ge=0, nullable=True, description=description)
    if check is Check.SHARE:
        return float, pa.Field(
            in_range={"min_value": 0, "max_value": 1}, nullable=True, description=description
        )
    return str, pa.Field(nullable=True, description=description)


def feature_model(table: FeatureTable) -> type[pa.DataFrameModel]:
    """Build the Pandera DataFrameModel of a feature table."""
    annotations: dict[str, Any] = {
        table.join_key: int,
        TIMESTAMP: DateTime,
        FEATURE_DATE: pl.Date,
    }
    fields: dict[str, Any] = {
        table.join_key: pa.Field(ge=0, description=f"The {table.entity}."),
        TIMESTAMP: pa.Field(
            dtype_kwargs=_UTC, description="End of the described day (UTC): the snapshot time."
        ),
        FEATURE_DATE: pa.Field(description="The day the snapshot describes (partition)."),
    }
    for feature in table.features:
        annotations[feature.name], fields[feature.name] = _field(feature.check, feature.description)

    class Config:
        strict = True
        coerce = False

    name = "".join(part.title() for part in table.view_name.split("_"))
    return type(
        name,
        (pa.DataFrameModel,),
        {
            "__annotations__": annotations,
            **fields,
            "unique_entity_snapshot": _unique_snapshots(table.join_key),
            "Config": Config,
            "__doc__": table.description,
        },
    )


def _unique_snapshots(key: str) -> Callable[..., Any]:
    """A dataframe check: each (``key``, event_timestamp) at most once.

    Feature frames come sorted by entity and snapshot time, and then one pass over neighbours
    proves uniqueness (~2 ms for 1.1M rows, where Pandera's ``unique`` option hashes every
    row: ~50 ms, a quarter of the whole validation). Any other frame gets the hashing check,
    which reports every duplicated row.
    """

    def unique_entity_snapshot(cls: type, data: PolarsData) -> bool | pl.LazyFrame:
        entity, stamp = pl.col(key), pl.col(TIMESTAMP)
        after_previous = (entity > entity.shift(1)) | (
            (entity == entity.shift(1)) & (stamp > stamp.shift(1))
        )
        first = pl.int_range(pl.len()) == 0
        strictly_sorted = (first | after_previous.fill_null(False)).all()
        if data.lazyframe.select(strictly_sorted).collect().item():
            return True
        return data.lazyframe.select(~pl.struct(key, TIMESTAMP).is_duplicated())

    return pa.dataframe_check(unique_entity_snapshot)


CustomerDaily = feature_model(CUSTOMER_DAILY)
MerchantDaily = feature_model(MERCHANT_DAILY)
