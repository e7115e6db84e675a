"""Staging group: bronze → silver, deduplicated, typed and validated before it is published.

Each silver asset validates its frame with a Pandera model *before* writing (write-audit-
publish): a frame that fails is never written, the blocking check records the failing columns
and sample rows, and the run fails with the same message, so downstream assets do not run.
"""

from collections.abc import Iterator

import dagster as dg
import pandera.polars as pa
import polars as pl

from ml_platform.defs.metadata import OWNERS, markdown_preview, pandera_column_schema
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.transaction import LakeTransaction
from ml_platform.lib.staging import schemas, transforms
from ml_platform.lib.validation import validate

GROUP = "staging"
BRONZE = {
    name: dg.AssetKey(["bronze", name]) for name in ("transactions", "chargebacks", "customers")
}


def _schema_check(name: str, key: dg.AssetKey, model: type[pa.DataFrameModel]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        f"{name}_schema_valid",
        asset=key,
        blocking=True,
        description=f"The frame satisfies the Pandera model {model.__name__} before it is written.",
    )


def _publish(
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
    table: str,
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    check_name: str,
    predicate: str | None,
    partition_by: list[str],
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    outcome = validate(frame, model)
    failures = outcome.failure_cases
    yield dg.AssetCheckResult(
        check_name=check_name,
        passed=outcome.passed,
        metadata={
            "rows": outcome.rows,
            "failures": failures.height,
            "summary": outcome.summary(),
            "failure_sample": markdown_preview(failures, 20),
        },
    )
    if not outcome.passed:
        raise dg.Failure(
            description=f"{table} not written: {outcome.summary()}",
            metadata={"failure_sample": markdown_preview(failures, 20)},
        )
    with LakeTransaction(platform.lake()) as tx:
        version = tx.replace(table, frame, predicate, frame.schema, partition_by)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "dagster/column_schema": pandera_column_schema(model),
            "delta_version": version,
            "preview": markdown_preview(frame, 5),
        }
    )


@dg.asset(
    key_prefix=["silver"],
    name="transactions",
    group_name=GROUP,
    kinds={"delta", "polars", "pandera"},
    owners=OWNERS,
    deps=[dg.AssetDep(BRONZE["transactions"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    check_specs=[
        _schema_check(
            "transactions", dg.AssetKey(["silver", "transactions"]), schemas.SilverTransactions
        )
    ],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverTransactions)},
)
def silver_transactions(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Card transactions, one row per transaction_id, partitioned by event date.

    Deduplicated by transaction_id (the latest landed version wins, so a corrected file
    replaces the original), typed and validated. Reads only the bronze partitions of the run's
    window.
    """
    start, end = window_dates(context)
    bronze = (
        platform.lake()
        .scan("bronze/transactions")
        .filter(pl.col("event_date").is_between(start, end, closed="left"))
    )
    frame = transforms.silver_transactions(bronze).collect()
    context.log.info(f"silver/transactions [{start}, {end}): {frame.height} rows")
    yield from _publish(
        context,
        platform,
        transforms.SILVER_TRANSACTIONS,
        frame,
        schemas.SilverTransactions,
        "transactions_schema_valid",
        predicates.date_range("event_date", start, end),
        ["event_date"],
    )


@dg.asset(
    key_prefix=["silver"],
    name="labels",
    group_name=GROUP,
    kinds={"delta", "polars", "pandera"},
    owners=OWNERS,
    deps=[BRONZE["chargebacks"]],
    check_specs=[_schema_check("labels", dg.AssetKey(["silver", "labels"]), schemas.SilverLabels)],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverLabels)},
)
def silver_labels(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Fraud labels from chargebacks: one row per reported transaction.

    A transaction counts as fraud only from `reported_at` (its first report) on; transactions
    without a row are not known to be fraud (yet).
    """
    frame = transforms.silver_labels(platform.lake().scan("bronze/chargebacks")).collect()
    yield from _publish(
        context,
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
    deps=[BRONZE["customers"]],
    check_specs=[
        _schema_check("customers", dg.AssetKey(["silver", "customers"]), schemas.SilverCustomers)
    ],
    metadata={"dagster/column_schema": pandera_column_schema(schemas.SilverCustomers)},
)
def silver_customers(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Customer dimension: the latest landed version of each customer.

    A slowly changing dimension where the latest landed version wins; `versions` counts the
    versions seen so far.
    """
    frame = transforms.silver_customers(platform.lake().scan("bronze/customers")).collect()
    yield from _publish(
        context,
        platform,
        transforms.SILVER_CUSTOMERS,
        frame,
        schemas.SilverCustomers,
        "customers_schema_valid",
        None,
        [],
    )


silver_assets = [silver_transactions, silver_labels, silver_customers]
