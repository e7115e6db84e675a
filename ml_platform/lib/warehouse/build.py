"""Building the warehouse: every catalog table, from the lake and MLflow, commented.

Lake tables stream from Delta (Polars ``scan_delta``, record batches) into DuckDB as Arrow:
no DuckDB extension is needed or installed. The whole file is rebuilt and swapped in (see
``storage.py``), so every table of one build describes the same moment: the KPIs agree with
the scores and labels next to them.
"""

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.warehouse.catalog import (
    BUILD_INFO,
    DAILY_KPIS,
    DAILY_KPIS_BY_CATEGORY,
    DAILY_KPIS_BY_CHANNEL,
    LAKE_LABELS,
    LAKE_SOURCED,
    LAKE_TRANSACTIONS,
    MODEL_VERSIONS,
    SCHEMAS,
    TABLES,
    TRAINING_RUNS,
    TRANSACTION_SCORES,
    WarehouseTable,
)
from ml_platform.lib.warehouse.kpis import daily_kpis, data_as_of
from ml_platform.lib.warehouse.registry_tables import mlflow_tables
from ml_platform.lib.warehouse.storage import staged_database
from ml_platform.settings import Settings

BATCH_ROWS = 250_000


@dataclass(frozen=True)
class WarehouseBuild:
    """What a build published.

    Attributes:
        path: The warehouse file.
        row_counts: Rows per table (``schema.table``).
        data_as_of: The data's clock (end of the newest day), ``None`` without transactions.
        source_versions: Delta version read per lake table (``None``: the table is missing).
        seconds: Build time, including the swap.
        size_bytes: Size of the published file.
    """

    path: Path
    row_counts: dict[str, int]
    data_as_of: dt.datetime | None
    source_versions: dict[str, int | None]
    seconds: float
    size_bytes: int


def build_warehouse(settings: Settings, dagster_run_id: str | None = None) -> WarehouseBuild:
    """Rebuild the warehouse at ``settings.warehouse_path`` from the lake and MLflow."""
    started = time.perf_counter()
    path = Path(settings.warehouse_path)
    lake = DeltaLake(settings.lake_uri)
    versions = {table.source: lake.version(table.source) for table in LAKE_SOURCED}
    as_of = (
        data_as_of(lake.scan(LAKE_TRANSACTIONS.source))
        if versions[LAKE_TRANSACTIONS.source] is not None
        else None
    )
    model_versions, training_runs = mlflow_tables(
        settings.mlflow_tracking_uri, settings.mlflow_artifact_root, settings.model_name
    )
    with staged_database(path) as con:
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA {schema}")
        for table in LAKE_SOURCED:
            frame = _lake_frame(lake, table, versions[table.source])
            _load(con, table, _batches(frame, table))
        _load(con, MODEL_VERSIONS, _frame_batches(model_versions, MODEL_VERSIONS))
        _load(con, TRAINING_RUNS, _frame_batches(training_runs, TRAINING_RUNS))
        for table, by in (
            (DAILY_KPIS, ()),
            (DAILY_KPIS_BY_CHANNEL, ("channel",)),
            (DAILY_KPIS_BY_CATEGORY, ("merchant_category",)),
        ):
            kpis = (
                _kpis(lake, versions, settings, as_of, by)
                if as_of
                else pl.DataFrame(schema=table.polars_schema)
            )
            _load(con, table, _frame_batches(kpis, table))
        info = pl.DataFrame(
            [
                {
                    "built_at": dt.datetime.now(dt.UTC),
                    "data_as_of": as_of,
                    "label_maturity_days": settings.label_maturity_days,
                    "decision_threshold": settings.decision_threshold,
                    "model_name": settings.model_name,
                    "source_versions": json.dumps(versions, sort_keys=True),
                    "dagster_run_id": dagster_run_id,
                }
            ],
            schema=BUILD_INFO.polars_schema,
        )
        _load(con, BUILD_INFO, _frame_batches(info, BUILD_INFO))
        for table in TABLES:
            _comment(con, table)
        undocumented = missing_comments(con)
        if undocumented:
            raise ValueError(f"warehouse objects without a comment: {undocumented}")
        counts = {
            table.qualified: int(
                con.execute(f"SELECT count(*) FROM {table.qualified}").fetchall()[0][0]
            )
            for table in TABLES
        }
    return WarehouseBuild(
        path=path,
        row_counts=counts,
        data_as_of=as_of,
        source_versions=versions,
        seconds=time.perf_counter() - started,
        size_bytes=path.stat().st_size,
    )


def missing_comments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and columns of the catalog's schemas that carry no comment."""
    schemas = list(SCHEMAS)
    marks = ", ".join("?" for _ in schemas)
    tables = con.execute(
        f"SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        f"WHERE schema_name IN ({marks}) AND coalesce(comment, '') = '' ORDER BY 1",
        schemas,
    ).fetchall()
    columns = con.execute(
        f"SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
        f"WHERE schema_name IN ({marks}) AND coalesce(comment, '') = '' ORDER BY 1",
        schemas,
    ).fetchall()
    return [name for (name,) in [*tables, *columns]]


def _lake_frame(lake: DeltaLake, table: WarehouseTable, version: int | None) -> pl.LazyFrame:
    """The catalog's columns of a lake table, at the version noted (empty if it is missing)."""
    if version is None:
        return pl.LazyFrame(schema=table.polars_schema)
    return lake.scan(table.source, version=version).select(
        [pl.col(c.name).cast(c.dtype) for c in table.columns]
    )


def _batches(frame: pl.LazyFrame, table: WarehouseTable) -> pa.RecordBatchReader:
    """Stream a lazy frame as Arrow record batches (bounded memory on big tables)."""
    schema = pl.DataFrame(schema=table.polars_schema).to_arrow().schema

    def batches() -> Iterator[pa.RecordBatch]:
        for chunk in frame.collect_batches(chunk_size=BATCH_ROWS):
            yield from chunk.to_arrow().cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _frame_batches(frame: pl.DataFrame, table: WarehouseTable) -> pa.RecordBatchReader:
    return _batches(
        frame.lazy().select([pl.col(c.name).cast(c.dtype) for c in table.columns]), table
    )


def _load(
    con: duckdb.DuckDBPyConnection, table: WarehouseTable, reader: pa.RecordBatchReader
) -> None:
    columns = ", ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
    con.execute(f"CREATE TABLE {table.qualified} ({columns})")
    con.register("incoming", reader)
    try:
        con.execute(f"INSERT INTO {table.qualified} SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def _kpis(
    lake: DeltaLake,
    versions: dict[str, int | None],
    settings: Settings,
    as_of: dt.datetime,
    by: tuple[str, ...],
) -> pl.DataFrame:
    """KPIs from the same table versions the warehouse copied (the rows analysts see beside)."""

    def scan(table: WarehouseTable) -> pl.LazyFrame:
        return _lake_frame(lake, table, versions[table.source])

    return daily_kpis(
        scan(LAKE_TRANSACTIONS),
        scan(TRANSACTION_SCORES),
        scan(LAKE_LABELS),
        settings.label_maturity_days,
        as_of,
        by,
    )


def _comment(con: duckdb.DuckDBPyConnection, table: WarehouseTable) -> None:
    con.execute(f"COMMENT ON TABLE {table.qualified} IS {_literal(table.comment)}")
    for column in table.columns:
        con.execute(
            f'COMMENT ON COLUMN {table.qualified}."{column.name}" IS {_literal(column.comment)}'
        )


def _literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"
