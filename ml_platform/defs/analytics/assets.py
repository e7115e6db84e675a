"""Analytics group: the DuckDB warehouse analysts query (``make sql``).

One asset per warehouse table (key ``warehouse/<schema>/<table>``), all produced by one
step: the warehouse file is the unit of publication. A build writes every table into a new
file and swaps it in atomically (``lib/warehouse/storage.py``), so an analyst holding the
warehouse open never blocks a run, a run never breaks the analyst's query, and all tables
of one build agree with each other (the KPIs with the scores and labels beside them). Asset
per table, not per schema, so the UI shows each table's lineage, column schema (with the
same comments DuckDB carries) and row count; one non-subsettable multi-asset, not one step
per table, because each step would have to copy and swap the whole file again.

Each table follows its source with ``on_new_data``; since the step is not subsettable, any
table requested brings the whole warehouse up to date. The derived ``analytics`` tables have
no condition of their own: they are rebuilt in every run with their inputs.
"""

import dagster as dg

from ml_platform.defs.automation.conditions import on_new_data
from ml_platform.defs.metadata import OWNERS
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.warehouse import catalog
from ml_platform.lib.warehouse.build import build_warehouse
from ml_platform.lib.warehouse.catalog import WarehouseTable

GROUP = "analytics"
WAREHOUSE_POOL = "duckdb_warehouse"
# Upstream assets with daily partitions (the rest are unpartitioned).
_PARTITIONED = {
    "silver/transactions",
    "features/customer_daily",
    "features/merchant_daily",
    "ml/transaction_scores",
    "monitoring/feature_drift",
    "monitoring/model_performance",
}
_MLFLOW_DEPS = {
    "model_versions": ["ml/fraud_model", "ml/champion"],
    "training_runs": ["ml/fraud_model"],
}


def warehouse_key(table: WarehouseTable) -> dg.AssetKey:
    """``warehouse/<schema>/<table>``."""
    return dg.AssetKey(["warehouse", table.schema, table.name])


def column_schema(table: WarehouseTable) -> dg.TableSchema:
    """The table's columns, DuckDB types and comments, as Dagster shows them."""
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.sql_type, description=c.comment) for c in table.columns]
    )


def _upstream(table: WarehouseTable) -> list[dg.AssetKey]:
    if table.source == "mlflow":
        return [dg.AssetKey.from_user_string(k) for k in _MLFLOW_DEPS[table.name]]
    if table.source == "derived":
        inputs = (catalog.LAKE_TRANSACTIONS, catalog.LAKE_LABELS, catalog.TRANSACTION_SCORES)
        return [warehouse_key(t) for t in inputs]
    return [dg.AssetKey.from_user_string(table.source)]


def _spec(table: WarehouseTable) -> dg.AssetSpec:
    deps = _upstream(table)
    partitioned = [k for k in deps if k.to_user_string() in _PARTITIONED]
    source = "built by this step" if table.source == "derived" else f"from `{table.source}`"
    return dg.AssetSpec(
        key=warehouse_key(table),
        group_name=GROUP,
        kinds={"duckdb", "polars"} if table.source != "mlflow" else {"duckdb", "mlflow"},
        owners=OWNERS,
        deps=deps,
        description=f"DuckDB table `{table.qualified}` ({source}): {table.comment}",
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": table.qualified,
        },
        automation_condition=None
        if table.source == "derived"
        else on_new_data(allow_missing=partitioned),
    )


@dg.multi_asset(
    name="warehouse",
    specs=[_spec(table) for table in catalog.TABLES],
    can_subset=False,
    pool=WAREHOUSE_POOL,
    description=(
        "Rebuild the analysts' DuckDB warehouse from the lake and MLflow into a new file and "
        "swap it in atomically (readers keep their snapshot; reconnect to see the new one)."
    ),
)
def warehouse(context: dg.AssetExecutionContext, platform: PlatformResource):
    """Build every warehouse table and publish the file; one materialization per table."""
    build = build_warehouse(platform.settings(), dagster_run_id=context.run.run_id)
    context.log.info(
        f"warehouse {build.path}: {len(build.row_counts)} tables, "
        f"{build.size_bytes / 1e6:.1f} MB in {build.seconds:.1f} s, data as of {build.data_as_of}"
    )
    shared = {
        "path": dg.MetadataValue.path(str(build.path)),
        "size_mb": round(build.size_bytes / 1e6, 2),
        "build_seconds": round(build.seconds, 2),
        "data_as_of": str(build.data_as_of) if build.data_as_of else "no transactions",
    }
    for table in catalog.TABLES:
        metadata: dict[str, object] = {
            "dagster/row_count": build.row_counts[table.qualified],
            **shared,
        }
        if table.source in build.source_versions:
            version = build.source_versions[table.source]
            metadata["source_version"] = -1 if version is None else version
        yield dg.MaterializeResult(asset_key=warehouse_key(table), metadata=metadata)


analytics_assets = [warehouse]
