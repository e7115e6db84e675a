"""Shared case helpers, and the cases of ingestion and the feature computations.

Each function is a case for ``harness.measure`` (run in a spawn child). The helpers
(``_dates``, ``_lake``, ``_sample``, ``_fresh``, ``_clear``) are shared with the other case
modules: ``cases_feast`` (training-set retrieval, online-store materialization, online
lookup), ``cases_online``, ``cases_models`` and ``cases_demo`` import them from here.

Project cases call the project's own functions (``ingest_source``, ``customer_daily_features``,
``merchant_daily_features``, ``validate``, the Dagster ``feature_job`` through ``runner``)
exactly as the assets do; baseline cases call ``benchmarks.baselines``. Every case takes
``params`` with at least ``root`` (the scale's dataset) and ``work`` (this run's scratch folder).
Results that an equivalence check needs are written under ``work`` by ``finish`` (untimed).
"""

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarks.config import bench_settings
from benchmarks.harness import Case

if TYPE_CHECKING:
    from ml_platform.lib.lake.delta import DeltaLake

UTC = dt.UTC


def _dates(params: dict[str, Any]) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(params["first"]), dt.date.fromisoformat(params["last"])


def _lake(params: dict[str, Any]) -> "DeltaLake":
    from ml_platform.lib.lake.delta import DeltaLake

    return DeltaLake(str(Path(params["root"]) / "lake"))


def _sample(frame: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    """The rows of every ``sample_mod``-th customer (what equivalence checks compare)."""
    return frame.filter(pl.col("customer_id") % params.get("sample_mod", 1) == 0)


def _fresh(path: Path) -> Path:
    """Remove ``path`` (a folder) if it exists and make sure its parent does; return it."""
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _clear(path: Path) -> None:
    _fresh(path)


# --- landing CSV → bronze Delta ---------------------------------------------------------------


def ingest_project(params: dict[str, Any]) -> Case:
    """``ingest_source`` of every transactions landing file into an empty lake."""
    from ml_platform.lib.ingestion.engine import ingest_source
    from ml_platform.lib.ingestion.sources import TRANSACTIONS
    from ml_platform.lib.lake.delta import DeltaLake

    target = Path(params["work"]) / "ingest_project"
    landing = Path(params["root"]) / "landing"
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)

    def run() -> Any:
        return ingest_source(DeltaLake(str(target)), landing, TRANSACTIONS, "bench", now=now)

    def finish(report: Any) -> dict[str, Any]:
        return {
            "files": report.files_seen,
            "rows_accepted": report.rows_accepted,
            "rows_quarantined": report.rows_quarantined,
        }

    return Case(run=run, reset=lambda: _clear(target), finish=finish)


def ingest_baseline(params: dict[str, Any]) -> Case:
    """Bare ``read_csv`` + ``write_deltalake`` of the same files."""
    from benchmarks.baselines.bare_ingest import ingest

    target = Path(params["work"]) / "ingest_baseline"
    files = sorted((Path(params["root"]) / "landing" / "transactions").glob("*.csv"))

    def finish(rows: int) -> dict[str, Any]:
        return {"files": len(files), "rows": rows}

    return Case(run=lambda: ingest(files, str(target)), reset=lambda: _clear(target), finish=finish)


# --- full-history customer features: project vs DuckDB ----------------------------------------


def customer_full_project(params: dict[str, Any]) -> Case:
    """``customer_daily_features`` over every day, reading silver from the lake."""
    from ml_platform.lib.features.customer import customer_daily_features

    lake = _lake(params)
    first, last = _dates(params)

    def run() -> pl.DataFrame:
        return customer_daily_features(
            lake.scan("silver/transactions"),
            lake.scan("silver/customers"),
            lake.scan("silver/labels"),
            first,
            last,
        )

    def finish(frame: pl.DataFrame) -> dict[str, Any]:
        _sample(frame, params).write_parquet(Path(params["work"]) / "customer_full_project.parquet")
        return {"rows": frame.height}

    return Case(run=run, finish=finish)


def customer_full_duckdb(params: dict[str, Any]) -> Case:
    """The same features as DuckDB window SQL over the same Delta tables' files."""
    from benchmarks.baselines.duckdb_windows import customer_features

    first, last = _dates(params)
    lake_uri = str(Path(params["root"]) / "lake")

    def finish(frame: pl.DataFrame) -> dict[str, Any]:
        _sample(frame, params).write_parquet(Path(params["work"]) / "customer_full_duckdb.parquet")
        return {"rows": frame.height}

    return Case(run=lambda: customer_features(lake_uri, first, last), finish=finish)


# --- customer features on a ~1M-transaction sample, in memory: project vs pandas --------------


def _silver_sample(params: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    lake = _lake(params)
    cutoff = params.get("customer_cutoff")
    keep = pl.col("customer_id") <= cutoff if cutoff else pl.lit(True)
    return (
        lake.scan("silver/transactions").filter(keep).collect(),
        lake.scan("silver/customers").filter(keep).collect(),
        lake.scan("silver/labels").filter(keep).collect(),
    )


def customer_sample_project(params: dict[str, Any]) -> Case:
    """``customer_daily_features`` on in-memory frames of the sample (no I/O timed)."""
    from ml_platform.lib.features.customer import customer_daily_features

    tx, customers, labels = _silver_sample(params)
    first, last = _dates(params)

    def run() -> pl.DataFrame:
        return customer_daily_features(tx.lazy(), customers.lazy(), labels.lazy(), first, last)

    def finish(frame: pl.DataFrame) -> dict[str, Any]:
        out = Path(params["work"]) / "customer_sample_project.parquet"
        _sample(frame, params).write_parquet(out)
        return {"rows": frame.height, "transactions": tx.height}

    return Case(run=run, finish=finish)


def customer_sample_pandas(params: dict[str, Any]) -> Case:
    """The pandas groupby-rolling baseline on the same in-memory sample."""
    from benchmarks.baselines.pandas_rolling import customer_features

    tx, customers, labels = (f.to_pandas() for f in _silver_sample(params))
    first, last = _dates(params)

    def finish(frame: Any) -> dict[str, Any]:
        out = Path(params["work"]) / "customer_sample_pandas.parquet"
        _sample(pl.from_pandas(frame), params).write_parquet(out)
        return {"rows": len(frame), "transactions": len(tx)}

    return Case(run=lambda: customer_features(tx, customers, labels, first, last), finish=finish)


# --- one new day vs a full recompute; validation vs computation -------------------------------


def _both_tables(params: dict[str, Any], first: dt.date, last: dt.date) -> Case:
    from ml_platform.lib.features.customer import customer_daily_features
    from ml_platform.lib.features.merchant import merchant_daily_features

    lake = _lake(params)
    _, newest = _dates(params)

    def run() -> tuple[pl.DataFrame, pl.DataFrame]:
        tx, labels = lake.scan("silver/transactions"), lake.scan("silver/labels")
        customers = customer_daily_features(tx, lake.scan("silver/customers"), labels, first, last)
        merchants = merchant_daily_features(tx, labels, first, last)
        return customers, merchants

    def finish(frames: tuple[pl.DataFrame, pl.DataFrame]) -> dict[str, Any]:
        name = "one_day" if first == last else "full"
        for table, frame in zip(("customer", "merchant"), frames, strict=True):
            day = frame.filter(pl.col("feature_date") == newest)
            day.write_parquet(Path(params["work"]) / f"{name}_{table}.parquet")
        return {"customer_rows": frames[0].height, "merchant_rows": frames[1].height}

    return Case(run=run, finish=finish)


def features_one_day(params: dict[str, Any]) -> Case:
    """Customer + merchant features of the newest day alone (reads its 31 days of silver)."""
    _, last = _dates(params)
    return _both_tables(params, last, last)


def features_full(params: dict[str, Any]) -> Case:
    """Customer + merchant features of every day (the full recompute)."""
    first, last = _dates(params)
    return _both_tables(params, first, last)


def validate_features(params: dict[str, Any]) -> Case:
    """Pandera validation of both feature tables, as ``publish`` runs it before a write."""
    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY
    from ml_platform.lib.features.schemas import CustomerDaily, MerchantDaily
    from ml_platform.lib.validation import validate

    lake = _lake(params)
    # In the order ``publish`` receives them: the computation returns each table sorted by
    # entity and snapshot time (a Delta read returns partitions in any order).
    customers, merchants = (
        lake.read(table.name).select(table.schema.names()).sort(table.join_key, "event_timestamp")
        for table in (CUSTOMER_DAILY, MERCHANT_DAILY)
    )

    def run() -> list[Any]:
        return [validate(customers, CustomerDaily), validate(merchants, MerchantDaily)]

    def finish(outcomes: list[Any]) -> dict[str, Any]:
        failed = [o.summary() for o in outcomes if not o.passed]
        if failed:
            raise AssertionError(f"feature tables fail their Pandera models: {failed}")
        return {"rows": sum(o.rows for o in outcomes)}

    return Case(run=run, finish=finish)


def _feature_job(params: dict[str, Any], first: dt.date, last: dt.date) -> Case:
    import dagster as dg

    from ml_platform.definitions import build_definitions
    from ml_platform.runner import ensure_dagster_home

    root = Path(params["root"])
    settings = bench_settings(root)
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    job = build_definitions(settings).resolve_job_def("feature_job")
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
        "ml_platform/trigger": "benchmark",
    }
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

    def run() -> Any:
        result = job.execute_in_process(
            instance=instance, tags=tags, run_config=quiet, raise_on_error=True
        )
        if not result.success:
            raise RuntimeError(f"feature_job {first}…{last} failed")
        return result.run_id

    return Case(run=run, finish=lambda run_id: {"run_id": run_id})


def feature_job_one_day(params: dict[str, Any]) -> Case:
    """The real ``feature_job`` (Dagster, in-process) for the newest day's partition."""
    _, last = _dates(params)
    return _feature_job(params, last, last)


def feature_job_full(params: dict[str, Any]) -> Case:
    """The real ``feature_job`` over every day (what ``run_features`` launches)."""
    first, last = _dates(params)
    return _feature_job(params, first, last)
