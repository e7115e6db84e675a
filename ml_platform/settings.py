"""Every location and tunable of the platform, read from the environment.

Defaults put everything under ``data/`` in the repository, so a fresh clone runs with no
configuration at all. Production is the same code with different environment variables
(see the README's "Configuration" table); nothing here is read anywhere else.
"""

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_ENV_PREFIX = "ML_PLATFORM_"
DEFAULT_PARTITION_START = dt.date(2026, 1, 1)


def _env(name: str, default: str) -> str:
    value = os.environ.get(_ENV_PREFIX + name, "").strip()
    return value or default


def _typed(name: str, default: Any) -> Any:
    """``ML_PLATFORM_<NAME>`` parsed as the type of ``default`` (``default`` when unset)."""
    raw = _env(name.upper(), "")
    return type(default)(raw) if raw else default


def secret(name: str) -> str | None:
    """A credential from ``ML_PLATFORM_<NAME>`` (``None`` when unset or empty).

    Credentials are deliberately not ``Settings`` fields: settings are shown in the Dagster UI
    (the platform resource) and in run metadata, secrets never are. Read one where it is used,
    in the process that uses it (e.g. from a Kubernetes Secret mounted as environment).
    """
    return os.environ.get(_ENV_PREFIX + name, "").strip() or None


def _resolve(path: str) -> str:
    """Resolve a relative filesystem path against the project root; leave URIs alone."""
    if "://" in path:
        return path
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = PROJECT_ROOT / candidate
    return str(candidate)


# Paths (relative ones resolve against the project root), each read from ML_PLATFORM_<NAME>.
_LOCATIONS = (
    "landing_dir",
    "lake_uri",
    "ground_truth_dir",
    "feast_repo_dir",
    "feast_dir",
    "mlflow_artifact_root",
    "reports_dir",
    "warehouse_path",
)
# Fields read their own way (see ``from_env``); every other field is a typed tunable.
_SPECIAL = ("data_dir", "partition_start", "mlflow_tracking_uri")


@dataclass(frozen=True)
class Settings:
    """Resolved platform settings.

    Attributes:
        data_dir: Root of the embedded default storage.
        landing_dir: Folder the landing sensor watches (one sub-folder per source).
        lake_uri: Root URI of the Delta lake (a path or ``s3://bucket/prefix``; endpoint, region
            and credentials of an object store come from the standard ``AWS_*`` variables).
        ground_truth_dir: Where the simulator writes its answer key (never read by the pipeline).
        partition_start: First day of the daily partitions.
        executor: ``in_process`` (fast on a laptop), ``multiprocess``, or ``k8s`` (each step in
            its own Kubernetes pod; needs the ``production`` extra).
        landing_settle_seconds: A landing file must be unchanged this long before it is ingested.
        feast_repo_dir: The Feast repository (``feature_store.yaml``).
        feast_dir: Feast's registry, online store and offline Parquet exports live here (with
            the lake on an object store the exports go to ``<lake_uri>/_feast_offline``).
        feast_online_store: Feast's online store: ``sqlite`` (a file in ``feast_dir``) or a
            Redis URL, ``redis://[user@]host:port[/db]`` (``rediss://`` for TLS); its password,
            a credential, is read from ``ML_PLATFORM_FEAST_REDIS_PASSWORD`` by ``secret``.
        feast_registry: Feast's SQL registry: ``sqlite`` (a file in ``feast_dir``) or a database
            URL without a password, e.g. ``postgresql+psycopg://feast@host:5432/feast`` (the
            password from the driver's environment, ``PGPASSWORD``).
        mlflow_tracking_uri: MLflow tracking + registry store (``MLFLOW_TRACKING_URI`` wins).
        mlflow_artifact_root: Where MLflow stores artifacts of the project's experiment.
        model_name: Registered model name in the MLflow registry.
        label_maturity_days: A transaction's label counts as known this many days after it.
        decision_threshold: Score at or above which a transaction is flagged.
        promotion_margin: ROC-AUC a challenger must gain over the champion to replace it.
        champion_min_roc_auc: Quality floor the champion must stay above (asset check).
        seed: Seed of every random choice in training.
        reports_dir: Where the monitoring reports (HTML) are written (a path or a URI).
        warehouse_path: The analysts' DuckDB file (rebuilt by the ``analytics`` assets and
            swapped in atomically; open it read-only, e.g. with ``make sql``).
        drift_psi_threshold: PSI of a numeric feature (reference bins) that counts as drift.
        drift_ks_threshold: Kolmogorov-Smirnov statistic of a numeric feature that counts as drift.
        drift_categorical_threshold: Jensen-Shannon distance of a categorical feature that counts.
        drift_score_psi_threshold: PSI of the score distribution that counts as drift.
        drift_min_importance: Share of the model's total gain a feature needs for its drift to
            request retraining (drift of unimportant features is reported, not acted on).
        performance_window_days: Matured days pooled for the trailing performance figures.
        performance_margin: ROC-AUC drop below the champion's validation ROC-AUC (trailing
            window, matured labels) that requests retraining.
        retrain_cooldown_days: Data days after a retraining request during which no other is made.
        automation_interval_seconds: How often the automation sensor evaluates conditions.
    """

    data_dir: str
    landing_dir: str
    lake_uri: str
    ground_truth_dir: str
    partition_start: dt.date
    feast_repo_dir: str = str(PROJECT_ROOT / "feature_repo")
    feast_dir: str = str(PROJECT_ROOT / "data" / "feast")
    feast_online_store: str = "sqlite"
    feast_registry: str = "sqlite"
    mlflow_tracking_uri: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'mlflow' / 'mlflow.db'}"
    mlflow_artifact_root: str = str(PROJECT_ROOT / "data" / "mlflow" / "artifacts")
    model_name: str = "fraud_detector"
    label_maturity_days: int = 30
    decision_threshold: float = 0.5
    promotion_margin: float = 0.002
    champion_min_roc_auc: float = 0.80
    seed: int = 42
    executor: str = "in_process"
    landing_settle_seconds: float = 5.0
    reports_dir: str = str(PROJECT_ROOT / "data" / "reports")
    warehouse_path: str = str(PROJECT_ROOT / "data" / "warehouse.duckdb")
    drift_psi_threshold: float = 0.1
    drift_ks_threshold: float = 0.1
    drift_categorical_threshold: float = 0.1
    drift_score_psi_threshold: float = 0.1
    drift_min_importance: float = 0.01
    performance_window_days: int = 7
    performance_margin: float = 0.03
    retrain_cooldown_days: int = 7
    automation_interval_seconds: int = 30

    @classmethod
    def under(cls, data_dir: str | Path, **overrides: Any) -> "Settings":
        """Every location in the default layout under ``data_dir`` (sandboxes, tests, benchmarks).

        Args:
            data_dir: The root that ``landing/``, ``lake/``, ``feast/``, ``mlflow/`` … go under.
            **overrides: Any other field, e.g. ``partition_start``.
        """
        data = Path(data_dir)
        values: dict[str, Any] = {
            "data_dir": str(data),
            "landing_dir": str(data / "landing"),
            "lake_uri": str(data / "lake"),
            "ground_truth_dir": str(data / "ground_truth"),
            "partition_start": DEFAULT_PARTITION_START,
            "feast_dir": str(data / "feast"),
            "mlflow_tracking_uri": f"sqlite:///{data / 'mlflow' / 'mlflow.db'}",
            "mlflow_artifact_root": str(data / "mlflow" / "artifacts"),
            "reports_dir": str(data / "reports"),
            "warehouse_path": str(data / "warehouse.duckdb"),
        }
        return cls(**{**values, **overrides})

    @classmethod
    def from_env(cls) -> "Settings":
        """Read the settings from ``ML_PLATFORM_*`` environment variables, with defaults.

        Every field ``name`` is read from ``ML_PLATFORM_<NAME>`` (``MLFLOW_TRACKING_URI`` for
        the tracking store); an unset or empty variable keeps the default of ``under(data_dir)``
        (locations) or of the field (tunables).
        """
        layout = cls.under(_resolve(_env("DATA_DIR", "data")))
        values: dict[str, Any] = {
            name: _resolve(_env(name.upper(), getattr(layout, name))) for name in _LOCATIONS
        }
        values.update(
            {
                field.name: _typed(field.name, getattr(layout, field.name))
                for field in dataclasses.fields(cls)
                if field.name not in (*_LOCATIONS, *_SPECIAL)
            }
        )
        values["partition_start"] = dt.date.fromisoformat(
            _env("PARTITION_START", layout.partition_start.isoformat())
        )
        values["mlflow_tracking_uri"] = (
            os.environ.get("MLFLOW_TRACKING_URI", "").strip() or layout.mlflow_tracking_uri
        )
        return dataclasses.replace(layout, **values)
