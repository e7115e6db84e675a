"""Cases of the Feast layer: training-set retrieval, online-store materialization, lookup.

Each function is a case for ``harness.measure`` (run in a spawn child), referenced as
``benchmarks.cases_feast:<name>``. Project cases call the project's own functions
(``historical_features``, ``materialize_latest``, ``FeatureStore.get_online_features``) exactly
as the assets do; baselines are Feast's own paths (``get_historical_features``, its stock
``materialize`` into its stock SQLite online store) and ``benchmarks.baselines.sqlite_bulk``.
Every case takes ``params`` with at least ``root`` (the scale's dataset) and ``work`` (this
run's scratch folder); results an equivalence check needs are written under ``work`` (untimed).
"""

import datetime as dt
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.cases import _dates, _fresh, _lake
from benchmarks.config import bench_settings
from benchmarks.harness import Case

UTC = dt.UTC


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


def materialize_feast_stock(params: dict[str, Any]) -> Case:
    """Feast's stock ``materialize`` into Feast's stock SQLite online store (the baseline).

    The newest snapshot's TTL window from a copy of the prepared Feast folder (the same
    registry as ``materialize_project_store``), on a scratch config whose online store is
    Feast's own ``SqliteOnlineStore`` (one row per entity x feature) in
    ``stock_online_store.db``: the project's config names the project's own store.
    ``online_entities`` is keyed by feature view, as in ``materialize_project_store``.
    """
    from feast import FeatureStore, RepoConfig
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

    from ml_platform.lib.feature_store.definitions import FEATURE_TTL
    from ml_platform.lib.feature_store.store import repo_config

    _, last = _dates(params)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    views = ["customer_daily", "merchant_daily"]
    state: dict[str, Any] = {}

    def reset() -> None:
        folder, settings = _materialize_copy(params, "feast_stock")
        ours = repo_config(settings)
        config = RepoConfig(
            project=ours.project,
            provider=ours.provider,
            registry=ours.registry,
            online_store=SqliteOnlineStoreConfig(path=str(folder / "stock_online_store.db")),
            offline_store=ours.offline_store,
            entity_key_serialization_version=ours.entity_key_serialization_version,
            repo_path=ours.repo_path,
        )
        store = FeatureStore(config=config)
        tables = [store.get_feature_view(name) for name in views]
        store.provider.update_infra(store.project, [], tables, [], [], partial=True)  # untimed
        state.update(folder=folder, store=store)

    def run() -> None:
        state["store"].materialize(end - FEATURE_TTL, end + dt.timedelta(seconds=1), views)

    def finish(_: Any) -> dict[str, Any]:
        con = sqlite3.connect(state["folder"] / "stock_online_store.db")
        try:
            query = 'SELECT count(DISTINCT entity_key) FROM "{}_{}"'
            project = state["store"].project
            counts = {v: con.execute(query.format(project, v)).fetchone()[0] for v in views}
        finally:
            con.close()
        return {"online_entities": counts}

    return Case(run=run, reset=reset, finish=finish)


def materialize_project_store(params: dict[str, Any]) -> Case:
    """``materialize_latest`` into the project's SQLite online store (what the asset runs).

    On a copy of the prepared Feast folder (registry applied, online store empty), like
    ``materialize_feast_stock``; ``online_entities`` is keyed by feature view (rows per table of
    the project's store: one row per entity).
    """
    from ml_platform.lib.feature_store.online_store import project_online_store, table_name
    from ml_platform.lib.feature_store.store import feature_repo, feature_store, materialize_latest

    state: dict[str, Any] = {}

    def reset() -> None:
        folder, settings = _materialize_copy(params, "project_store")
        state.update(folder=folder, repo=feature_repo(settings), store=feature_store(settings))

    def finish(counts: dict[str, int]) -> dict[str, Any]:
        store = state["store"]
        online = project_online_store(store)
        if online is None:
            raise AssertionError("the project's config does not name the project's store")
        con = sqlite3.connect(online.db_path(store.config))
        try:
            query = 'SELECT count(*) FROM "{}"'
            entities = {
                v: con.execute(query.format(table_name(store.project, v))).fetchone()[0]
                for v in counts
            }
        finally:
            con.close()
        return {"written": counts, "online_entities": entities}

    return Case(
        run=lambda: materialize_latest(state["store"], state["repo"]), reset=reset, finish=finish
    )


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

    counts = dict(zip((1, 100), params["calls"], strict=True))  # the scale's lookup_calls
    requests = {size: [rows(size) for _ in range(count)] for size, count in counts.items()}
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
