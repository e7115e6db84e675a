"""Staging group: bronze → silver, deduplicated, typed and validated before it is published.

Each silver asset validates its frame with a Pandera model before writing it (see
``defs/publishing.py``): a frame that fails is never written.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.publishing import publish, publish_batches, schema_check
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.batching import day_batches
from ml_platform.lib.lake import predicates
from ml_platform.lib.staging import schemas, transforms

GROUP = "staging"
SILVER_BATCH_ROWS = 1_000_000
"""Most bronze transactions deduplicated at once: a backfill works through its days in batches
of whole days, all written in one lake transaction, so its memory follows the batch."""


@dg.asset(
    key_prefix=["silver"],
    name="transactions",
    group_name=GROUP,
    kinds={"delta", "polars", "pandera"},
    owners=OWNERS,
    deps=[dg.AssetDep(keys.BRONZE["transactions"])],
    automation_condition=on_new_data(),
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    check_specs=[
        schema_check("transactions", keys.SILVER_TRANSACTIONS, schemas.SilverTransactions)
    ],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverTransactions)},
)
def silver_transactions(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Card transactions, one row per transaction_id, partitioned by event date.

    Deduplicated by transaction_id (the latest landed version wins, so a corrected file
    replaces the original), typed and validated. Reads only the bronze partitions of the run's
    window, in batches of whole days (``SILVER_BATCH_ROWS``): a transaction is deduplicated
    within its event date's batch, as a daily run does.
    """
    start, end = window_dates(context)
    lake = platform.lake()
    in_window = pl.col("event_date").is_between(start, end, closed="left")
    per_day = (
        lake.scan("bronze/transactions").filter(in_window).group_by("event_date").len().collect()
    )
    batches = day_batches(dict(per_day.iter_rows()), start, end, SILVER_BATCH_ROWS)

    def deduplicated() -> Iterator[tuple[str, pl.DataFrame]]:
        for first, last in batches:
            bronze = lake.scan("bronze/transactions").filter(
                pl.col("event_date").is_between(first, last, closed="left")
            )
            frame = transforms.silver_transactions(bronze).collect()
            context.log.info(f"silver/transactions [{first}, {last}): {frame.height} rows")
            yield predicates.date_range("event_date", first, last), frame

    yield from publish_batches(
        platform,
        transforms.SILVER_TRANSACTIONS,
        deduplicated(),
        schemas.SilverTransactions,
        "transactions_schema_valid",
        ["event_date"],
    )


@dg.asset(
    key_prefix=["silver"],
    name="labels",
    group_name=GROUP,
    kinds={"delta", "polars", "pandera"},
    owners=OWNERS,
    deps=[keys.BRONZE["chargebacks"], keys.SILVER_TRANSACTIONS],
    automation_condition=on_new_data(allow_missing=[keys.SILVER_TRANSACTIONS]),
    check_specs=[schema_check("labels", keys.SILVER_LABELS, schemas.SilverLabels)],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverLabels)},
)
def silver_labels(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Fraud labels from chargebacks: one row per reported transaction.

    A transaction counts as fraud only from `reported_at` (its first report) on; transactions
    without a row are not known to be fraud (yet). Carries the transaction's customer, merchant
    and time so features can count reported fraud per entity.
    """
    lake = platform.lake()
    transactions = (
        lake.scan(transforms.SILVER_TRANSACTIONS)
        if lake.exists(transforms.SILVER_TRANSACTIONS)
        else pl.LazyFrame(schema=transforms.TRANSACTION_CONTEXT_SCHEMA)
    )
    frame = transforms.silver_labels(lake.scan("bronze/chargebacks"), transactions).collect()
    yield from publish(
        platform,
        transforms.SILVER_LABELS,
        frame,
        schemas.SilverLabels,
        "labels_schema_valid",
        None,
        [],
    )


@dg.asset(
    key_prefix=["silver"],
    name="customers",
    group_name=GROUP,
    kinds={"delta", "polars", "pandera"},
    owners=OWNERS,
    deps=[keys.BRONZE["customers"]],
    automation_condition=on_new_data(),
    check_specs=[schema_check("customers", keys.SILVER_CUSTOMERS, schemas.SilverCustomers)],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverCustomers)},
)
def silver_customers(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Customer dimension: the latest landed version of each customer.

    A slowly changing dimension where the latest landed version wins; `versions` counts the
    versions seen so far.
    """
    frame = transforms.silver_customers(platform.lake().scan("bronze/customers")).collect()
    yield from publish(
        platform,
        transforms.SILVER_CUSTOMERS,
        frame,
        schemas.SilverCustomers,
        "customers_schema_valid",
        None,
        [],
    )


silver_assets = [silver_transactions, silver_labels, silver_customers]
