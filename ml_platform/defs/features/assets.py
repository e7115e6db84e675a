"""Features group: daily entity snapshots computed with Polars and validated with Pandera.

Day D of a feature table reads only silver days D-30 … D (declared to Dagster with a
partition mapping, so lineage and automation know it); a backfill computes the whole range in
one step and gives the same values as day-by-day updates. Each published partition is also
exported as Parquet for Feast's offline store (the export is part of the same step, so Feast
never sees a partition the lake does not hold).
"""

import datetime as dt
from collections.abc import Iterable, Iterator

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import APPEND, Append, publish_batches, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.batching import key_ranges
from ml_platform.lib.feature_store.export import export_days
from ml_platform.lib.feature_store.store import offline_dir
from ml_platform.lib.features import customer, merchant
from ml_platform.lib.features.catalog import (
    CUSTOMER_DAILY,
    FEATURE_DATE,
    FEATURE_TABLES,
    MERCHANT_DAILY,
)
from ml_platform.lib.features.schemas import CustomerDaily, MerchantDaily
from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.staging import transforms

GROUP = "features"
# Day D needs silver days D-30 … D.
LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-customer.LOOKBACK_DAYS, end_offset=0)
FEATURE_BATCH_ROWS = 2_000_000
"""Most customer-days computed at once: a backfill computes its customers in ranges of ids
(customers x days <= this), all written in one lake transaction, so its memory follows the
batch rather than customers x history. A single day is one batch up to 2M customers."""


def _days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date, dt.date]:
    start, end = window_dates(context)
    return start, end - dt.timedelta(days=1), end


def _published(
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
    table: str,
    batches: Iterable[tuple[str | None, pl.DataFrame]],
    model: type,
    check_name: str,
):
    """Validate and write the window's rows, batch by batch, then export the days for Feast.

    ``batches`` yields ``(description or None, rows)``: the first batch replaces the whole
    window, the others are appended (a window's partitions are dropped whole, never rewritten
    row by row), all in one lake transaction.
    """
    start, last, end = _days(context)
    days = (last - start).days + 1
    window = predicates.date_range(FEATURE_DATE, start, end)
    written = {"rows": 0}

    def logged() -> Iterator[tuple[str | Append, pl.DataFrame]]:
        for number, (description, frame) in enumerate(batches, 1):
            written["rows"] += frame.height
            where = f", batch {number} ({description})" if description else ""
            context.log.info(f"{table}: {frame.height} rows, {days} day(s) {start}…{last}{where}")
            yield (window if number == 1 else APPEND), frame

    def export() -> dict[str, object]:
        """Mirror the written days into the Parquet files Feast's offline store reads."""
        settings = platform.settings()
        spec = next(t for t in FEATURE_TABLES if t.name == table)
        every_day = [start + dt.timedelta(days=i) for i in range(days)]
        files = export_days(platform.lake(), spec, every_day, offline_dir(settings))
        return {
            "days": days,
            "entities_per_day": round(written["rows"] / max(days, 1), 1),
            "feast_offline_files": len(files),
        }

    yield from publish_batches(
        platform, table, logged(), model, check_name, [FEATURE_DATE], after_write=export
    )


def _customer_batches(
    lake: DeltaLake, first: dt.date, last: dt.date
) -> Iterator[tuple[str | None, pl.DataFrame]]:
    """Customer snapshots of ``[first, last]`` in ranges of customer ids (see FEATURE_BATCH_ROWS).

    Yields ``(the range, for the log, or None, rows)``; each customer's snapshots depend on its
    own rows only, so a range computed alone equals the same customers of the whole computation.
    """
    key = CUSTOMER_DAILY.join_key
    tx = lake.scan(transforms.SILVER_TRANSACTIONS)
    people = lake.scan(transforms.SILVER_CUSTOMERS)
    labels = lake.scan(transforms.SILVER_LABELS)
    start, _ = customer.input_range(first, last)
    active = tx.filter(pl.col("event_date").is_between(start, last)).select(key)
    ids = pl.concat([people.select(key), active]).unique().sort(key).collect().get_column(key)
    days = (last - first).days + 1
    for low, high in key_ranges(ids.to_list(), max(1, FEATURE_BATCH_ROWS // days)):
        inside = pl.lit(True)
        if low is not None:
            inside &= pl.col(key) >= low
        if high is not None:
            inside &= pl.col(key) < high
        frame = customer.customer_daily_features(
            tx.filter(inside), people.filter(inside), labels.filter(inside), first, last
        )
        whole = low is None and high is None
        yield None if whole else f"{key} in [{low}, {high})", frame


@dg.asset(
    key_prefix=["features"],
    name="customer_daily",
    group_name=GROUP,
    kinds={"polars", "delta", "pandera"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[
        dg.AssetDep(keys.SILVER_TRANSACTIONS, partition_mapping=LOOKBACK),
        keys.SILVER_CUSTOMERS,
        keys.SILVER_LABELS,
    ],
    # Late labels and customer updates reach the next day's features, not history.
    automation_condition=on_new_data(ignore=[keys.SILVER_CUSTOMERS, keys.SILVER_LABELS]),
    check_specs=[schema_check("customer_daily", keys.CUSTOMER_DAILY, CustomerDaily)],
    metadata={"dagster/column_schema": pandera_column_schema(CustomerDaily)},
)
def customer_daily(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Per-customer behaviour over 1/7/30-day windows, one row per customer per day.

    Counts, amounts (sum, mean, sample std, max), distinct merchants and categories, night and
    foreign shares, days since the previous transaction and since signup, and chargebacks
    reported before the end of the day. `event_timestamp` is the end of `feature_date`.
    """
    first, last, _ = _days(context)
    yield from _published(
        context,
        platform,
        CUSTOMER_DAILY.name,
        _customer_batches(platform.lake(), first, last),
        CustomerDaily,
        "customer_daily_schema_valid",
    )


@dg.asset(
    key_prefix=["features"],
    name="merchant_daily",
    group_name=GROUP,
    kinds={"polars", "delta", "pandera"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[dg.AssetDep(keys.SILVER_TRANSACTIONS, partition_mapping=LOOKBACK), keys.SILVER_LABELS],
    automation_condition=on_new_data(ignore=[keys.SILVER_LABELS]),
    check_specs=[schema_check("merchant_daily", keys.MERCHANT_DAILY, MerchantDaily)],
    metadata={"dagster/column_schema": pandera_column_schema(MerchantDaily)},
)
def merchant_daily(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Per-merchant volume, mean amount, customer share and reported fraud rate (7/30 days).

    One row per merchant per day while the merchant had a transaction in the last 31 days. The
    fraud rate counts the window's transactions with a chargeback reported before the end of
    the day, so it never uses labels from the future.
    """
    first, last, _ = _days(context)
    lake = platform.lake()
    frame = merchant.merchant_daily_features(
        lake.scan(transforms.SILVER_TRANSACTIONS),
        lake.scan(transforms.SILVER_LABELS),
        first,
        last,
    )
    yield from _published(
        context,
        platform,
        MERCHANT_DAILY.name,
        [(None, frame)],
        MerchantDaily,
        "merchant_daily_schema_valid",
    )


feature_assets = [customer_daily, merchant_daily]
