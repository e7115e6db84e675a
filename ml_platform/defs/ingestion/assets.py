"""Ingestion group: landing files → bronze Delta tables, quarantine and ledger.

Each bronze asset ingests every new or changed landing file of its source (see
``lib/ingestion/engine.py``). Quarantine and ledger are written in the same all-or-nothing
transaction as the bronze rows, so they are declared here as assets whose materializations the
bronze steps report.
"""

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.defs.metadata import OWNERS, column_schema, markdown_preview
from ml_platform.defs.partitions import daily_partitions, single_run_backfill, window_dates
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.engine import IngestionReport, ingest_source
from ml_platform.lib.ingestion.reconcile import reconcile
from ml_platform.lib.ingestion.sources import SOURCES, Source

GROUP = "ingestion"
INGESTION_POOL = "lake_ingestion"

landing_specs = [
    dg.AssetSpec(
        key,
        group_name=GROUP,
        kinds={"csv", "parquet"},
        owners=OWNERS,
        description=(
            f"Landing folder `<landing>/{name}/`: {SOURCES[name].description} CSV or Parquet "
            "files dropped by upstream systems; observed by `landing_sensor`."
        ),
        metadata={"dagster/column_schema": column_schema(SOURCES[name].schema)},
    )
    for name, key in keys.LANDING.items()
]

quarantine_spec = dg.AssetSpec(
    keys.QUARANTINE,
    group_name=GROUP,
    kinds={"delta"},
    owners=OWNERS,
    deps=list(keys.LANDING.values()),
    description=(
        "Rows (and whole files) that failed parsing or validation, with source file, row number, "
        "the raw record as read and the reason. Written by the bronze assets."
    ),
    metadata={"dagster/column_schema": column_schema(tables.QUARANTINE_SCHEMA)},
)

ledger_spec = dg.AssetSpec(
    keys.LEDGER,
    group_name=GROUP,
    kinds={"delta"},
    owners=OWNERS,
    deps=list(keys.LANDING.values()),
    description=(
        "One row per ingested landing file: identity (path, size, mtime, SHA-256), status, rows "
        "read / accepted / quarantined, and accepted rows per event date."
    ),
    metadata={"dagster/column_schema": column_schema(tables.LEDGER_SCHEMA)},
)


def _reconciled_check(source: Source) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        f"{source.name}_reconciled",
        asset=keys.BRONZE[source.name],
        blocking=True,
        description=(
            "Every landed row is in bronze or quarantine: for each file, rows read = accepted + "
            "quarantined, and the tables hold exactly those rows."
        ),
    )


def _run_ingestion(
    context: dg.AssetExecutionContext, platform: PlatformResource, source: Source
) -> IngestionReport:
    def progress(done: int, total: int, relpath: str) -> None:
        if done == total or done % 10 == 0:
            context.log.info(f"{source.name}: parsed {done}/{total} files (last: {relpath})")

    report = ingest_source(
        platform.lake(),
        platform.landing_dir,
        source,
        batch_id=context.run.run_id,
        progress=progress,
        settle_seconds=platform.landing_settle_seconds,
    )
    context.log.info(
        f"{source.name}: {report.files_seen} files seen, {len(report.outcomes)} new or changed, "
        f"{report.files_unchanged} unchanged; rows read {report.rows_read}, accepted "
        f"{report.rows_accepted}, quarantined {report.rows_quarantined}"
    )
    for outcome in report.rejected:
        context.log.warning(f"file quarantined whole: {outcome.error}")
    if report.files_pending:
        pending = ", ".join(report.files_pending[:10])
        context.log.info(f"still being written, left for a later run: {pending}")
    if report.files_vanished:
        vanished = ", ".join(report.files_vanished[:10])
        context.log.warning(f"deleted from landing after they were listed, skipped: {vanished}")
    for outcome in report.outcomes:
        if outcome.extra_columns:
            extra = ", ".join(outcome.extra_columns)
            context.log.warning(f"{outcome.source_file}: ignored unknown column(s) {extra}")
    _report_side_tables(context, platform, source, report)
    return report


def _report_side_tables(
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
    source: Source,
    report: IngestionReport,
) -> None:
    """Record materializations of quarantine and ledger when this step wrote them."""
    lake = platform.lake()
    if tables.QUARANTINE_TABLE in report.versions:
        counts = (
            lake.scan(tables.QUARANTINE_TABLE)
            .group_by("source")
            .agg(pl.len().alias("rows"))
            .collect()
        )
        by_source = {row["source"]: row["rows"] for row in counts.iter_rows(named=True)}
        context.log_event(
            dg.AssetMaterialization(
                keys.QUARANTINE,
                description=f"rows of {source.name} files re-evaluated",
                metadata={
                    "dagster/row_count": sum(by_source.values()),
                    "rows_by_source": dg.MetadataValue.json(by_source),
                    "quarantined_this_run": report.rows_quarantined,
                    "files_rejected_this_run": len(report.rejected),
                    "delta_version": report.versions[tables.QUARANTINE_TABLE],
                },
            )
        )
    if tables.LEDGER_TABLE in report.versions:
        ledger = lake.read(tables.LEDGER_TABLE)
        context.log_event(
            dg.AssetMaterialization(
                keys.LEDGER,
                metadata={
                    "dagster/row_count": ledger.height,
                    "files_recorded_this_run": len(report.outcomes) + report.files_touched,
                    "delta_version": report.versions[tables.LEDGER_TABLE],
                    "latest_files": markdown_preview(
                        ledger.sort("ingested_at", descending=True).select(
                            "source",
                            "source_file",
                            "status",
                            "rows_read",
                            "rows_accepted",
                            "rows_quarantined",
                            "error",
                        )
                    ),
                },
            )
        )


def _check_result(platform: PlatformResource, source: Source) -> dg.AssetCheckResult:
    result = reconcile(platform.lake(), source)
    return dg.AssetCheckResult(
        check_name=f"{source.name}_reconciled",
        passed=result.passed,
        metadata={
            "files": result.files,
            "rows_read": result.rows_read,
            "rows_in_bronze": result.rows_in_bronze,
            "rows_in_quarantine": result.rows_in_quarantine,
            "mismatched_files": result.mismatches.height,
            "mismatches": markdown_preview(result.mismatches),
        },
    )


def _common_metadata(source: Source, report: IngestionReport) -> dict[str, object]:
    return {
        "files_seen": report.files_seen,
        "files_ingested": len(report.outcomes),
        "files_unchanged": report.files_unchanged,
        "files_rejected": len(report.rejected),
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_quarantined": report.rows_quarantined,
        "delta_version": report.versions.get(tables.bronze_table(source)),
        "dagster/column_schema": column_schema(tables.bronze_schema(source)),
    }


def _build_partitioned_bronze(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.name,
        key_prefix=["bronze"],
        group_name=GROUP,
        kinds={"delta", "polars"},
        owners=OWNERS,
        deps=[keys.LANDING[source.name]],
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        pool=INGESTION_POOL,
        check_specs=[_reconciled_check(source)],
        metadata={"dagster/column_schema": column_schema(tables.bronze_schema(source))},
        description=(
            f"Bronze {source.name}: {source.description} Typed rows from every landing file, with "
            "source file, row number, landing and ingestion time; Delta-partitioned by event "
            "date. A run ingests every new or changed file; dates outside the run's partitions "
            "that a file touched are reported as materialized too."
        ),
    )
    def _bronze(context: dg.AssetExecutionContext, platform: PlatformResource):
        report = _run_ingestion(context, platform, source)
        start, end = window_dates(context)
        valid_keys = set(daily_partitions.get_partition_keys())
        for day in sorted(report.dates_touched):
            if not start <= day < end and day.isoformat() in valid_keys:
                context.log_event(
                    dg.AssetMaterialization(
                        context.asset_key,
                        partition=day.isoformat(),
                        description="rows changed by a landing file ingested in this run",
                    )
                )
        rows = (
            platform.lake()
            .scan(tables.bronze_table(source))
            .filter(pl.col("event_date").is_between(start, end, closed="left"))
            .select(pl.len())
            .collect()
            .item()
        )
        yield dg.MaterializeResult(
            metadata={
                **_common_metadata(source, report),
                "dagster/row_count": rows,
                "dates_touched": len(report.dates_touched),
            }
        )
        yield _check_result(platform, source)

    return _bronze


def _build_bronze(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.name,
        key_prefix=["bronze"],
        group_name=GROUP,
        kinds={"delta", "polars"},
        owners=OWNERS,
        deps=[keys.LANDING[source.name]],
        pool=INGESTION_POOL,
        check_specs=[_reconciled_check(source)],
        metadata={"dagster/column_schema": column_schema(tables.bronze_schema(source))},
        description=(
            f"Bronze {source.name}: {source.description} Typed rows from every landing file, with "
            "source file, row number, landing and ingestion time. A run ingests every new or "
            "changed file; a changed file replaces what it contributed before."
        ),
    )
    def _bronze(context: dg.AssetExecutionContext, platform: PlatformResource):
        report = _run_ingestion(context, platform, source)
        lake = platform.lake()
        table = tables.bronze_table(source)
        rows = lake.scan(table).select(pl.len()).collect().item() if lake.exists(table) else 0
        yield dg.MaterializeResult(
            metadata={**_common_metadata(source, report), "dagster/row_count": rows}
        )
        yield _check_result(platform, source)

    return _bronze


bronze_assets = [
    _build_partitioned_bronze(source) if source.partitioned else _build_bronze(source)
    for source in SOURCES.values()
]
