"""The Feast feature store of the platform: configuration, apply and materialization.

The store is configured in code from ``Settings`` (``feature_repo/feature_store.yaml`` says
the same thing for the ``feast`` CLI): project ``ml_platform``, a SQL registry in SQLite
(the file registry lost concurrent updates), a SQLite online store and the DuckDB offline
store over the pipeline's Parquet exports, all under ``Settings.feast_dir``. In production the
online store is Redis instead (``ML_PLATFORM_FEAST_ONLINE_STORE=redis://host:port/db``,
see ``online_store_config``); everything else here works the same on both.

Feast's registry and online store are single-writer: inside Dagster, ``apply_if_changed`` and
``materialize_latest`` run in one concurrency pool. Processes outside it (``ml-platform
features`` while the daemon runs, two deployments on one disk) are serialized by a file lock
next to the registry (``writers_lock``): two unguarded applies of a fresh registry crashed on a
UNIQUE constraint or applied twice, and a materialization that chose its rows before another
one wrote newer rows overwrote them with older ones.
"""

import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl
from feast import (
    Entity,
    FeatureService,
    FeatureStore,
    FeatureView,
    FileSource,
    OnDemandFeatureView,
    RepoConfig,
    RequestSource,
)
from feast.errors import FeastObjectNotFoundException
from feast.feature_view import DUMMY_ENTITY_ID
from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
from feast.infra.registry.sql import SqlRegistryConfig
from feast.repo_config import FeastConfigBaseModel
from google.protobuf.json_format import MessageToDict

from ml_platform.lib.feature_store.definitions import FeatureRepo, build_feature_repo
from ml_platform.lib.feature_store.export import day_file, exported_days
from ml_platform.lib.feature_store.online_store import (
    PlatformSqliteOnlineStoreConfig,
    project_online_store,
)
from ml_platform.lib.features.catalog import TIMESTAMP, FeatureTable
from ml_platform.lib.lake import objects
from ml_platform.lib.locking import file_lock
from ml_platform.settings import Settings, secret

PROJECT = "ml_platform"
REGISTRY_FILE = "registry.db"
ONLINE_STORE_FILE = "online_store.db"
OFFLINE_DIR = "offline"
REMOTE_OFFLINE_DIR = "_feast_offline"
WRITERS_LOCK_FILE = "feast-writers.lock"
SQLITE_ONLINE_STORE = "sqlite"
SQLITE_REGISTRY = "sqlite"
REDIS_SCHEMES = ("redis", "rediss")
REDIS_PASSWORD_VARIABLE = "FEAST_REDIS_PASSWORD"  # ML_PLATFORM_FEAST_REDIS_PASSWORD
# A snapshot of feature_date d is stamped at the end of d; slack when picking files by day.
_DATE_SLACK = dt.timedelta(days=2)


def offline_dir(settings: Settings) -> str:
    """Folder of the Parquet exports Feast reads.

    ``<feast_dir>/offline`` with a local lake; ``<lake_uri>/_feast_offline`` with the lake on
    an object store, so that every process (every Kubernetes pod) sees the same exports
    without a shared volume. The leading ``_`` keeps the folder apart from Delta tables, whose
    names start with a letter.
    """
    if objects.is_remote(settings.lake_uri):
        return f"{settings.lake_uri.rstrip('/')}/{REMOTE_OFFLINE_DIR}"
    return str(Path(settings.feast_dir) / OFFLINE_DIR)


def feature_repo(settings: Settings) -> FeatureRepo:
    """The platform's Feast definitions, reading the exports of ``settings``."""
    return build_feature_repo(offline_dir(settings))


def repo_config(settings: Settings) -> RepoConfig:
    """Feast configuration equivalent to ``feature_repo/feature_store.yaml`` for ``settings``."""
    return RepoConfig(
        project=PROJECT,
        provider="local",
        registry=SqlRegistryConfig(
            registry_type="sql",
            path=registry_url(settings),
            cache_ttl_seconds=60,
        ),
        online_store=online_store_config(settings),
        offline_store=DuckDBOfflineStoreConfig(),
        entity_key_serialization_version=3,
        repo_path=Path(settings.feast_repo_dir),
    )


def registry_url(settings: Settings) -> str:
    """The SQLAlchemy URL of Feast's SQL registry for ``settings.feast_registry``.

    ``sqlite`` is a file under ``feast_dir`` (one host, or a volume every pod mounts). A
    database URL, e.g. ``postgresql+psycopg://feast@postgres.internal:5432/feast``, is a
    registry every process shares without a volume; its password comes from the driver's
    environment (``PGPASSWORD`` for PostgreSQL), never from the URL, which the Dagster UI shows.

    Raises:
        ValueError: Neither ``sqlite`` nor a database URL, or a URL with a password.
    """
    target = settings.feast_registry.strip()
    if target == SQLITE_REGISTRY:
        return f"sqlite:///{Path(settings.feast_dir).absolute() / REGISTRY_FILE}"
    url = urlsplit(target)
    if not url.scheme or not url.hostname:
        raise ValueError(
            f"feast_registry must be 'sqlite' or a database URL such as "
            f"'postgresql+psycopg://user@host:5432/feast', got {target!r}"
        )
    if url.password:
        raise ValueError(
            "feast_registry must not contain a password (it is shown in the Dagster UI): "
            "put it in the database driver's environment, e.g. PGPASSWORD"
        )
    return target


def online_store_config(settings: Settings) -> FeastConfigBaseModel:
    """Feast's online store for ``settings.feast_online_store``: SQLite or Redis.

    ``sqlite`` is the project's own SQLite store (``online_store.PlatformSqliteOnlineStore``:
    one row per entity, bulk writes) in a file under ``feast_dir``.
    ``redis://[user@]host[:port][/db]`` (or ``rediss://`` for TLS) is a Redis server; its
    password comes from the environment (``ML_PLATFORM_FEAST_REDIS_PASSWORD``, e.g. a
    Kubernetes Secret), never from the URL, which is shown in the Dagster UI.

    Feast's own write-time deduplication is switched off (``skip_dedup``): it drops a row whose
    event time equals the stored one, so a recomputed day would never replace its online
    values. ``materialize_latest`` does the comparison itself (at least as new: written), and
    its writers are serialized in one concurrency pool, the condition Feast sets for skipping.

    Raises:
        ValueError: For an unknown store, a password in the URL, or a password Feast's
            connection string cannot carry (a comma).
    """
    target = settings.feast_online_store.strip()
    if target == SQLITE_ONLINE_STORE:
        path = Path(settings.feast_dir).absolute() / ONLINE_STORE_FILE
        return PlatformSqliteOnlineStoreConfig(path=str(path))
    url = urlsplit(target)
    if url.scheme not in REDIS_SCHEMES or not url.hostname:
        raise ValueError(
            f"ML_PLATFORM_FEAST_ONLINE_STORE={target!r}: expected 'sqlite' or "
            "'redis://[user@]host[:port][/db]' ('rediss://' for TLS)"
        )
    if url.password is not None:
        raise ValueError(
            "ML_PLATFORM_FEAST_ONLINE_STORE must not contain a password (it is shown in the "
            "Dagster UI): set ML_PLATFORM_FEAST_REDIS_PASSWORD instead"
        )
    options = [f"{url.hostname}:{url.port or 6379}"]
    database = url.path.strip("/")
    if database:
        options.append(f"db={int(database)}")
    if url.username:
        options.append(f"username={url.username}")
    password = secret(REDIS_PASSWORD_VARIABLE)
    if password is not None:
        if "," in password:
            raise ValueError("ML_PLATFORM_FEAST_REDIS_PASSWORD cannot contain a comma (Feast)")
        options.append(f"password={password}")
    if url.scheme == "rediss":
        options.append("ssl=true")
    # Imported here: it needs the redis client, part of the `production` extra only.
    from feast.infra.online_stores.redis import RedisOnlineStoreConfig

    return RedisOnlineStoreConfig(connection_string=",".join(options), skip_dedup=True)


def online_store_location(settings: Settings) -> str:
    """Where the online store is, for people: the SQLite path or the Redis URL (no password)."""
    config = online_store_config(settings)
    if isinstance(config, PlatformSqliteOnlineStoreConfig):
        return str(config.path)
    return settings.feast_online_store.strip()


def feature_store(settings: Settings) -> FeatureStore:
    """A Feast ``FeatureStore`` for ``settings`` (creates ``feast_dir`` if needed)."""
    Path(settings.feast_dir).mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=repo_config(settings))


def apply_if_changed(store: FeatureStore, repo: FeatureRepo) -> list[str]:
    """Apply the definitions that differ from the registry's, and only those.

    ``feast apply`` can reset materialization state (feast #2905, #3228), so an unchanged
    object is never re-applied. Objects are compared as protos without their registry
    metadata (timestamps, materialization intervals), project, pickled UDF bytes (the UDF's
    source text is compared instead) and the placeholder entity Feast adds to an on-demand
    view on apply.

    Returns:
        Names of the objects applied (new or changed), in ``repo.objects()`` order; empty when
        the registry already matches.
    """
    with writers_lock(store):  # compare and apply as one step: no other writer in between
        changed = [obj for obj in repo.objects() if _registered(store, obj) != _definition(obj)]
        if changed:
            store.apply(changed)
    return [obj.name for obj in changed]


@contextmanager
def writers_lock(store: FeatureStore) -> Iterator[None]:
    """Hold the lock that serializes the Feast writers of ``store``'s registry on this host.

    The lock file sits next to a SQLite registry (``<feast_dir>/feast-writers.lock``), so every
    process using that registry meets on it; for any other registry it is a file in the temp
    folder named by a hash of the registry's path. It serializes the processes of one host:
    writers on several hosts need a shared lock (e.g. one Dagster deployment and its pool).
    Not re-entrant: ``apply_if_changed`` and ``materialize_latest`` each take it once.
    """
    with file_lock(_writers_lock_path(str(store.config.registry.path))):
        yield


def _writers_lock_path(registry_path: str) -> Path:
    if registry_path.startswith("sqlite:///"):
        return Path(registry_path.removeprefix("sqlite:///")).parent / WRITERS_LOCK_FILE
    digest = hashlib.sha256(registry_path.encode("utf-8")).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "ml_platform_feast_locks" / f"{digest}.lock"


def _registered(store: FeatureStore, obj: Any) -> dict[str, Any] | None:
    getter = getattr(store.registry, _REGISTRY_GETTERS[type(obj)])
    try:
        return _definition(getter(obj.name, store.project, allow_cache=False))
    except FeastObjectNotFoundException:
        return None


_REGISTRY_GETTERS: dict[type, str] = {
    Entity: "get_entity",
    FileSource: "get_data_source",
    RequestSource: "get_data_source",
    FeatureView: "get_feature_view",
    OnDemandFeatureView: "get_on_demand_feature_view",
    FeatureService: "get_feature_service",
}
_IGNORED_KEYS = frozenset({"meta", "project", "createdTimestamp", "lastUpdatedTimestamp", "body"})


def _definition(obj: Any) -> dict[str, Any]:
    """An object's proto as a dict, without what the registry sets or re-serializes."""
    return _strip(MessageToDict(obj.to_proto()))


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        stripped = {k: _strip(v) for k, v in value.items() if k not in _IGNORED_KEYS}
        return {k: v for k, v in stripped.items() if v != []}  # as MessageToDict omits them
    if isinstance(value, list):
        return [_strip(v) for v in value if not _is_dummy_entity(v)]
    return value


def _is_dummy_entity(value: Any) -> bool:
    return isinstance(value, dict) and value.get("name") == DUMMY_ENTITY_ID


def materialize_latest(store: FeatureStore, repo: FeatureRepo) -> dict[str, int]:
    """Write the newest exported snapshot of each feature view to the online store.

    Feast's online stores keep whatever was written last, whatever its event time (FINDINGS.md),
    so only the window ending at the newest exported snapshot is considered (each entity's newest
    row within ``[newest - ttl, newest]``: re-exporting an older day changes nothing online),
    and a row is written only if it is at least as new as the entity's online value (a
    same-day recomputation replaces it; an older row, e.g. after the newest day's export was
    removed, never does). An entity whose newest snapshot is older than the TTL is left alone:
    offline retrieval treats it as missing.

    How the rows are written depends on the store:

    * the project's SQLite store (``sqlite``, ``online_store.PlatformSqliteOnlineStore``):
      straight from Polars in one transaction, with "never older" inside the upsert
      (``PlatformSqliteOnlineStore.write_frame``); no read-back of online timestamps, no
      protobuf per value (~1 s for 100k entities, against ~29 s with Feast's stock SQLite
      store; BENCHMARKS.md);
    * any other store (Redis): the online timestamps of the selected entities are read first
      (``newer_than_online``), then the newer rows go through
      ``FeatureStore.write_to_online_store``, bound by Feast's per-value protobuf conversion.

    Neither path calls ``FeatureStore.materialize(start, end)``: the rows written are exactly
    the rows selected and counted here, nothing is printed to stdout and the registry is not
    written.

    The online tables are (re)created first if missing (``ensure_online_tables``), so a
    deleted online store file is rebuilt by the next call.

    The choice of rows, the comparison and the write happen under ``writers_lock``: a second
    process materializing meanwhile waits, then compares with what this one wrote, so an older
    window never lands after a newer one.

    Returns:
        Entities written per feature view (rows the store actually changed).
    """
    counts = {}
    online = project_online_store(store)
    with writers_lock(store):
        ensure_online_tables(store, repo)
        for table in repo.tables:
            rows = latest_snapshot_rows(repo, table)
            if online is not None:
                view = store.get_feature_view(table.view_name)
                written = online.write_frame(store.config, view, rows, TIMESTAMP)
            else:
                rows = newer_than_online(store, table, rows)
                if rows.height:
                    store.write_to_online_store(table.view_name, df=rows.to_pandas())
                written = rows.height
            counts[table.view_name] = written
    return counts


def ensure_online_tables(store: FeatureStore, repo: FeatureRepo) -> None:
    """Create the online tables of the repo's feature views where they are missing.

    ``apply`` creates them, but ``apply_if_changed`` skips an unchanged registry, so an online
    store file that was deleted (or lost) would otherwise stay without tables and every
    lookup and write would fail with ``no such table``. Idempotent (``CREATE TABLE IF NOT
    EXISTS``); touches neither the registry nor existing rows (the project's SQLite store
    rebuilds, empty, only a table whose columns no longer match its view).
    """
    views = [store.get_feature_view(table.view_name) for table in repo.tables]
    store.provider.update_infra(
        project=store.project,
        tables_to_delete=[],
        tables_to_keep=views,
        entities_to_delete=[],
        entities_to_keep=[],
        partial=True,
    )


def latest_snapshot_rows(repo: FeatureRepo, table: FeatureTable) -> pl.DataFrame:
    """Each entity's newest exported row within the TTL window ending at the newest snapshot."""
    days = exported_days(repo.offline_dir, table)
    if not days:
        return pl.DataFrame(schema=table.schema)
    newest = (
        pl.scan_parquet(day_file(repo.offline_dir, table, days[-1]))
        .select(pl.col(TIMESTAMP).max())
        .collect()
        .item()
    )
    ttl = repo.feature_view(table).ttl
    start = newest - ttl if ttl else None
    window = pl.col(TIMESTAMP) <= newest
    if start is not None:
        window &= pl.col(TIMESTAMP) >= start
        days = [d for d in days if d >= (start - _DATE_SLACK).date()]
    return (
        pl.scan_parquet([day_file(repo.offline_dir, table, d) for d in days])
        .filter(window)
        .sort(TIMESTAMP)
        .unique(subset=[table.join_key], keep="last", maintain_order=True)
        .collect()
    )


def newer_than_online(store: FeatureStore, table: FeatureTable, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows at least as new as their entity's online value (or with none online).

    Used for stores without a conditional bulk write (Redis); the project's SQLite store
    applies the same rule inside its upsert.
    """
    if rows.is_empty():
        return rows
    probe = table.features[0].name
    online = store.get_online_features(
        features=[f"{table.view_name}:{probe}"],
        entity_rows=[{table.join_key: key} for key in rows.get_column(table.join_key)],
    ).to_dict(include_event_timestamps=True)
    # Whole seconds, 0 when the entity is not online.
    online_seconds = pl.Series(online[f"{probe}__ts"], dtype=pl.Int64())
    row_seconds = rows.get_column(TIMESTAMP).dt.epoch("s")
    return rows.filter(row_seconds >= online_seconds)
