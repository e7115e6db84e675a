"""Where MLflow lives: the tracking store, the project's experiment, and file locks.

MLflow 3 conventions (STYLE.md): a SQLite tracking/registry store by default (the file store
is retired) and the experiment created with an explicit ``artifact_location``; any other
``MLFLOW_TRACKING_URI`` (e.g. an ``http://`` server) works the same way. In production that is
``postgresql://user@host:5432/mlflow`` with the password in ``PGPASSWORD`` (libpq reads it), so
no credential is part of the URI, which the Dagster UI shows; a bare ``postgresql://`` uses
psycopg 3 under SQLAlchemy 2.1 (both drivers are in the ``production`` extra).

Several processes creating a fresh SQLite store at once fail in MLflow's schema migrations
(FINDINGS.md), and merely constructing an ``MlflowClient`` creates the store: ``configure``
does both under a file lock. The locks live next to the SQLite file (or under a local
artifact root, or a temp folder keyed by the URI): they serialize the processes of one host,
which is what a local deployment runs. Callers of a shared tracking server on several hosts
also need a single-slot concurrency pool (Dagster) around promotion.

Light on purpose (MLflow and SQLAlchemy only): a resource or a worker can configure the store
without importing LightGBM, Feast or matplotlib. MLflow itself (~1 s) is imported by the
functions that talk to the store, not when the code location loads.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from ml_platform.lib.locking import file_lock

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

EXPERIMENT = "fraud_detection"
HTTP_RETRY_DEFAULTS = {
    # A dead tracking server otherwise stalls a run for minutes (FINDINGS.md); these bound it
    # to seconds. Set only for http(s) URIs, and only when the environment does not already.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


@dataclass(frozen=True)
class Tracking:
    """A configured MLflow store and the project's experiment in it.

    Attributes:
        tracking_uri: Tracking and registry URI.
        experiment_id: Id of the experiment.
        experiment_name: Name of the experiment.
        artifact_location: Where the experiment's artifacts go.
        lock_dir: Folder of the file locks (store creation, promotion).
    """

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    artifact_location: str
    lock_dir: str

    def client(self) -> MlflowClient:
        """A client of this store (tracking and registry)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def run_path(self, run_id: str) -> str:
        """The run's page in the MLflow UI, relative to the UI's root."""
        return f"#/experiments/{self.experiment_id}/runs/{run_id}"

    def run_url(self, run_id: str) -> str | None:
        """The run's full UI address when the store is an MLflow server, else ``None``."""
        if not _is_http(self.tracking_uri):
            return None
        return f"{self.tracking_uri.rstrip('/')}/{self.run_path(run_id)}"


def configure(tracking_uri: str, artifact_root: str, experiment: str = EXPERIMENT) -> Tracking:
    """Make sure the store and the experiment exist; return how to reach them.

    Creates a fresh SQLite store (its folder included) and the experiment, with
    ``artifact_location`` = ``artifact_root``, under a file lock, so parallel first runs do
    not race in MLflow's schema migrations. An existing experiment keeps its artifact
    location. Safe to call at the start of every step.

    Args:
        tracking_uri: ``sqlite:///…`` (default of the platform) or any MLflow tracking URI.
        artifact_root: Folder or URI (``s3://…``) for the experiment's artifacts.
        experiment: Experiment name.

    Returns:
        The configured store.
    """
    if _is_http(tracking_uri):
        for key, value in HTTP_RETRY_DEFAULTS.items():
            os.environ.setdefault(key, value)
    database = _sqlite_path(tracking_uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    lock_dir = _lock_dir(tracking_uri, artifact_root)
    location = _artifact_location(artifact_root)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    with file_lock(lock_dir / "mlflow-store.lock"):
        # Creating the client creates (and migrates) a fresh SQLite store: under the lock.
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            try:
                client.create_experiment(experiment, artifact_location=location)
            except MlflowException as error:  # created meanwhile (another host)
                if error_code(error) != RESOURCE_ALREADY_EXISTS:
                    raise
            found = client.get_experiment_by_name(experiment)
    if found is None:
        raise RuntimeError(f"experiment {experiment!r} could not be created in {tracking_uri}")
    experiment_id, location = found.experiment_id, found.artifact_location
    return Tracking(
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        experiment_name=experiment,
        artifact_location=location,
        lock_dir=str(lock_dir),
    )


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def using(tracking: Tracking) -> Iterator[None]:
    """Point MLflow's fluent API at ``tracking`` for the block, then restore it.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` (and the registry one) into
    the process environment; those variables are restored exactly too, or a later
    ``Settings.from_env()`` in the same process would pick up MLflow's default
    (``sqlite:///mlflow.db`` in the working directory).
    """
    import mlflow

    saved_env = {name: os.environ.get(name) for name in _URI_VARIABLES}
    previous_tracking = mlflow.get_tracking_uri()
    previous_registry = mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking.tracking_uri)
    mlflow.set_registry_uri(tracking.tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    database = make_url(uri).database
    return Path(database).absolute() if database and database != ":memory:" else None


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://")).absolute()


def _artifact_location(artifact_root: str) -> str:
    return _local_path(artifact_root).as_uri() if _is_local(artifact_root) else artifact_root


def _lock_dir(tracking_uri: str, artifact_root: str) -> Path:
    database = _sqlite_path(tracking_uri)
    if database is not None:
        return database.parent
    if _is_local(artifact_root):
        return _local_path(artifact_root)
    digest = hashlib.sha256(tracking_uri.encode("utf-8")).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "ml_platform_mlflow_locks" / digest


def error_code(error: MlflowException) -> int:
    """The numeric MLflow error code of an exception (compare with ``databricks_pb2`` codes)."""
    from mlflow.protos.databricks_pb2 import ErrorCode

    return ErrorCode.Value(error.error_code)
