"""The measured calls: each function is a case for ``harness.measure`` (run in a spawn child).

Project cases call the project's own functions (``ingest_source``, ``customer_daily_features``,
``merchant_daily_features``, ``validate``, ``historical_features``, ``materialize_latest``,
``FeatureStore.get_online_features``, the Dagster jobs through ``runner``) exactly as the
assets do; baseline cases call ``benchmarks.baselines``. Every case takes ``params`` with at
least ``root`` (the scale's dataset) and ``work`` (this run's scratch folder). Results that an
equivalence check needs are written under ``work`` by ``finish`` (untimed).
"""

import datetime as dt
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.config import bench_settings
from benchmarks.harness import Case

UTC = dt.UTC


def _dates(params: dict[str, Any]) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(params["first"]), dt.date.fromisoformat(params["last"])


def _lake(params: dict[str, Any]):
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
    customers = lake.read(CUSTOMER_DAILY.name).select(CUSTOMER_DAILY.schema.names())
    merchants = lake.read(MERCHANT_DAILY.name).select(MERCHANT_DAILY.schema.names())

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


# --- training-set retrieval -------------------------------------------------------------------


def retrieval_entities(params: dict[str, Any]) -> Case:
    """Write the entity rows (a seeded sample of silver transactions) for both retrievals."""
    from ml_platform.lib.feature_store.definitions import TRANSACTION_REQUEST_COLUMNS

    lake = _lake(params)
    out = Path(params["work"]) / "entities.parquet"

    def run() -> int:
        columns = ["transaction_id", "customer_id", "merchant_id", "event_timestamp"]
        tx = lake.scan("silver/transactions").select(*columns, *TRANSACTION_REQUEST_COLUMNS)
        tx = tx.collect()
        rows = tx.sample(min(params["rows"], tx.height), seed=7, shuffle=True)
        rows.rename(TRANSACTION_REQUEST_COLUMNS).write_parquet(out)
        return rows.height

    return Case(run=run, finish=lambda n: {"rows": n})


def retrieval_project(params: dict[str, Any]) -> Case:
    """``historical_features`` (the project's Polars point-in-time join) for the entity rows."""
    from ml_platform.lib.feature_store.retrieval import historical_features
    from ml_platform.lib.feature_store.store import feature_repo

    settings = bench_settings(Path(params["root"]))
    lake, repo = _lake(params), feature_repo(settings)
    entities = pl.read_parquet(Path(params["work"]) / "entities.parquet")

    def finish(frame: pl.DataFrame) -> dict[str, Any]:
        frame.write_parquet(Path(params["work"]) / "retrieval_project.parquet")
        return {"rows": frame.height}

    return Case(run=lambda: historical_features(lake, entities, repo), finish=finish)


def retrieval_feast(params: dict[str, Any]) -> Case:
    """Feast ``get_historical_features`` (duckdb offline store) for the same feature service."""
    import warnings

    from ml_platform.lib.feature_store.definitions import SERVICE_NAME
    from ml_platform.lib.feature_store.store import feature_store

    warnings.filterwarnings("ignore", message="On demand feature view is an experimental")
    store = feature_store(bench_settings(Path(params["root"])))
    service = store.get_feature_service(SERVICE_NAME)
    entities = pl.read_parquet(Path(params["work"]) / "entities.parquet").to_pandas()

    def run() -> Any:
        return store.get_historical_features(entity_df=entities, features=service).to_df()

    def finish(frame: Any) -> dict[str, Any]:
        out = pl.from_pandas(frame, nan_to_null=True)
        out.write_parquet(Path(params["work"]) / "retrieval_feast.parquet")
        return {"rows": out.height}

    return Case(run=run, finish=finish)


# --- online-store materialization -------------------------------------------------------------


def materialize_prepare(params: dict[str, Any]) -> Case:
    """A Feast folder holding the newest snapshot of ``entities`` entities, applied, empty online.

    The newest day's customer and merchant rows of the dataset; customers are repeated under
    new ids (values unchanged) until customers + merchants = ``entities``, so every scale
    writes the same number of entities.
    """
    from ml_platform.lib.feature_store.export import day_file
    from ml_platform.lib.feature_store.store import feature_repo, feature_store
    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY

    lake = _lake(params)
    _, last = _dates(params)
    pristine = _fresh(Path(params["work"]) / "materialize" / "pristine")
    settings = bench_settings(Path(params["root"]), feast_dir=str(pristine))

    def newest(table: Any) -> pl.DataFrame:
        scan = lake.scan(table.name).filter(pl.col("feature_date") == last)
        return scan.select(table.schema.names()).collect()

    def run() -> dict[str, int]:
        merchants = newest(MERCHANT_DAILY)
        customers = newest(CUSTOMER_DAILY)
        wanted = max(params["entities"] - merchants.height, customers.height)
        copies = -(-wanted // customers.height)
        customers = pl.concat(
            customers.with_columns(pl.col("customer_id") + copy * 100_000_000)
            for copy in range(copies)
        ).head(wanted)
        repo = feature_repo(settings)
        for table, frame in ((CUSTOMER_DAILY, customers), (MERCHANT_DAILY, merchants)):
            path = day_file(repo.offline_dir, table, last)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.sort(table.join_key).write_parquet(path)
        feature_store(settings).apply(repo.objects())
        return {"customers": customers.height, "merchants": merchants.height}

    return Case(run=run, finish=lambda counts: counts)


def _materialize_copy(params: dict[str, Any], name: str) -> tuple[Path, Any]:
    base = Path(params["work"]) / "materialize"
    target = _fresh(base / name)
    shutil.copytree(base / "pristine", target)
    return target, bench_settings(Path(params["root"]), feast_dir=str(target))


def _online_rows(feast_dir: Path) -> dict[str, int]:
    """Distinct entities per table of a Feast SQLite online store."""
    con = sqlite3.connect(feast_dir / "online_store.db")
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        query = 'SELECT count(DISTINCT entity_key) FROM "{}"'
        return {name: con.execute(query.format(name)).fetchone()[0] for name in names}
    finally:
        con.close()


def materialize_project(params: dict[str, Any]) -> Case:
    """``materialize_latest`` (what the online_store asset runs) into an empty online store."""
    from ml_platform.lib.feature_store.store import feature_repo, feature_store, materialize_latest

    state: dict[str, Any] = {}

    def reset() -> None:
        folder, settings = _materialize_copy(params, "project")
        state.update(folder=folder, repo=feature_repo(settings), store=feature_store(settings))

    def finish(counts: dict[str, int]) -> dict[str, Any]:
        return {"written": counts, "online_entities": _online_rows(state["folder"])}

    return Case(
        run=lambda: materialize_latest(state["store"], state["repo"]), reset=reset, finish=finish
    )


def materialize_feast(params: dict[str, Any]) -> Case:
    """Feast's stock ``materialize`` over the newest snapshot's TTL window, same store layout."""
    from ml_platform.lib.feature_store.definitions import FEATURE_TTL
    from ml_platform.lib.feature_store.store import feature_store

    _, last = _dates(params)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    state: dict[str, Any] = {}

    def reset() -> None:
        folder, settings = _materialize_copy(params, "feast")
        state.update(folder=folder, store=feature_store(settings))

    def run() -> None:
        views = ["customer_daily", "merchant_daily"]
        state["store"].materialize(end - FEATURE_TTL, end + dt.timedelta(seconds=1), views)

    def finish(_: Any) -> dict[str, Any]:
        return {"online_entities": _online_rows(state["folder"])}

    return Case(run=run, reset=reset, finish=finish)


def materialize_sqlite(params: dict[str, Any]) -> Case:
    """Plain sqlite bulk insert of the same rows (read from the same Parquet exports)."""
    from benchmarks.baselines.sqlite_bulk import bulk_insert

    base = Path(params["work"]) / "materialize"
    offline = base / "pristine" / "offline"
    target = base / "sqlite" / "bulk.db"

    def reset() -> None:
        _fresh(target.parent)
        target.parent.mkdir(parents=True)

    def run() -> int:
        tables = {p.name: pl.read_parquet(next(p.glob("*.parquet"))) for p in offline.iterdir()}
        return bulk_insert(target, tables)

    return Case(run=run, reset=reset, finish=lambda rows: {"rows": rows})


# --- online lookup ----------------------------------------------------------------------------


def lookup_online(params: dict[str, Any]) -> Case:
    """In-process ``FeatureStore.get_online_features`` with the service resolved once."""
    import random
    import warnings

    from ml_platform.lib.feature_store.definitions import (
        SERVICE_NAME,
        TRANSACTION_AMOUNT,
        TRANSACTION_CHANNEL,
        TRANSACTION_COUNTRY,
    )
    from ml_platform.lib.feature_store.store import feature_store
    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY

    warnings.filterwarnings("ignore", message="On demand feature view is an experimental")
    lake = _lake(params)
    _, last = _dates(params)
    store = feature_store(bench_settings(Path(params["root"])))
    service = store.get_feature_service(SERVICE_NAME)

    def ids(table: Any) -> list[int]:
        scan = lake.scan(table.name).filter(pl.col("feature_date") == last)
        return scan.select(table.join_key).collect().to_series().to_list()

    customers, merchants = ids(CUSTOMER_DAILY), ids(MERCHANT_DAILY)
    rng = random.Random(11)
    now = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(12), tzinfo=UTC)

    def rows(n: int) -> list[dict[str, Any]]:
        return [
            {
                "customer_id": rng.choice(customers),
                "merchant_id": rng.choice(merchants),
                "event_timestamp": now,
                TRANSACTION_AMOUNT: round(rng.uniform(1, 500), 2),
                TRANSACTION_COUNTRY: rng.choice(["US", "GB", "DE"]),
                TRANSACTION_CHANNEL: rng.choice(["online", "pos", "atm"]),
            }
            for _ in range(n)
        ]

    def lookup(entity_rows: list[dict[str, Any]]) -> dict[str, Any]:
        return store.get_online_features(features=service, entity_rows=entity_rows).to_dict()

    requests = {size: [rows(size) for _ in range(count)] for size, count in ((1, 2000), (100, 300))}
    for request in requests[1][:100] + requests[100][:20]:  # warm-up: caches, first connection
        lookup(request)

    def run() -> dict[int, list[float]]:
        latencies: dict[int, list[float]] = {}
        for size, batch in requests.items():
            spent = latencies.setdefault(size, [])
            for request in batch:
                started = time.perf_counter()
                result = lookup(request)
                spent.append(time.perf_counter() - started)
                assert len(result["customer_id"]) == size
        return latencies

    def finish(latencies: dict[int, list[float]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for size, values in latencies.items():
            ordered = sorted(values)
            for q in (50, 99):
                out[f"p{q}_{size}"] = ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]
            out[f"calls_{size}"] = len(values)
        return out

    return Case(run=run, finish=finish)
