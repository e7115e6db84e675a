"""Features group: daily entity snapshots computed with Polars and validated with Pandera.

Day D of a feature table reads only silver days D-30 … D (declared to Dagster with a
partition mapping, so lineage and automation know it); a backfill computes the whole range in
one step and gives the same values as day-by-day updates. Each published partition is also
exported as Parquet for Feast's offline store (the export is part of the same step, so Feast
never sees a partition the lake does not hold).
"""

import datetime as dt

import dagster as dg
import polars as pl

from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish, schema_check
from ml_platform.defs.resources import PlatformResource
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
from ml_platform.lib.staging import transforms

GROUP = "features"
SILVER = {name: dg.AssetKey(["silver", name]) for name in ("transactions", "labels", "customers")}
# Day D needs silver days D-30 … D.
LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-customer.LOOKBACK_DAYS, end_offset=0)


def _days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date, dt.date]:
    start, end = window_dates(context)
    return start, end - dt.timedelta(days=1), end


def _published(
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
    table: str,
    frame: pl.DataFrame,
    model: type,
    check_name: str,
):
    start, last, end = _days(context)
    days = (last - start).days + 1
    context.log.info(f"{table}: {frame.height} rows for {days} day(s) {start}…{last}")

    def export() -> dict[str, object]:
        """Mirror the written days into the Parquet files Feast's offline store reads."""
        settings = platform.settings()
        spec = next(t for t in FEATURE_TABLES if t.name == table)
        every_day = [start + dt.timedelta(days=i) for i in range(days)]
        files = export_days(platform.lake(), spec, every_day, offline_dir(settings))
        return {"feast_offline_files": len(files)}

    yield from publish(
        platform,
        table,
        frame,
        model,
        check_name,
        predicates.date_range(FEATURE_DATE, start, end),
        [FEATURE_DATE],
        extra_metadata={
            "days": days,
            "entities_per_day": round(frame.height / max(days, 1), 1),
        },
        after_write=export,
    )


@dg.asset(
    key_prefix=["features"],
    name="customer_daily",
    group_name=GROUP,
    kinds={"polars", "delta", "pandera"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[
        dg.AssetDep(SILVER["transactions"], partition_mapping=LOOKBACK),
        SILVER["customers"],
        SILVER["labels"],
    ],
    # Late labels and customer updates reach the next day's features, not history.
    automation_condition=on_new_data(ignore=[SILVER["customers"], SILVER["labels"]]),
    check_specs=[
        schema_check("customer_daily", dg.AssetKey(["features", "customer_daily"]), CustomerDaily)
    ],
    metadata={"dagster/column_schema": pandera_column_schema(CustomerDaily)},
)
def customer_daily(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Per-customer behaviour over 1/7/30-day windows, one row per customer per day.

    Counts, amounts (sum, mean, sample std, max), distinct merchants and categories, night and
    foreign shares, days since the previous transaction and since signup, and chargebacks
    reported before the end of the day. `event_timestamp` is the end of `feature_date`.
    """
    first, last, _ = _days(context)
    lake = platform.lake()
    frame = customer.customer_daily_features(
        lake.scan(transforms.SILVER_TRANSACTIONS),
        lake.scan(transforms.SILVER_CUSTOMERS),
        lake.scan(transforms.SILVER_LABELS),
        first,
        last,
    )
    yield from _published(
        context, platform, CUSTOMER_DAILY.name, frame, CustomerDaily, "customer_daily_schema_valid"
    )


@dg.asset(
    key_prefix=["features"],
    name="merchant_daily",
    group_name=GROUP,
    kinds={"polars", "delta", "pandera"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    deps=[dg.AssetDep(SILVER["transactions"], partition_mapping=LOOKBACK), SILVER["labels"]],
    automation_condition=on_new_data(ignore=[SILVER["labels"]]),
    check_specs=[
        schema_check("merchant_daily", dg.AssetKey(["features", "merchant_daily"]), MerchantDaily)
    ],
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
        context, platform, MERCHANT_DAILY.name, frame, MerchantDaily, "merchant_daily_schema_valid"
    )


feature_assets = [customer_daily, merchant_daily]
