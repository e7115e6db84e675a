"""What the monitoring assets share: thresholds, report paths, model profiles, formatting."""

import datetime as dt
from pathlib import Path

import polars as pl

from ml_platform.lib.lake import objects
from ml_platform.lib.monitoring.drift import DriftThresholds
from ml_platform.lib.training.registry import MonitoringProfile, monitoring_profile
from ml_platform.lib.training.tracking import configure
from ml_platform.settings import Settings

GROUP = "monitoring"


def drift_thresholds(settings: Settings) -> DriftThresholds:
    """The configured drift thresholds."""
    return DriftThresholds(
        psi=settings.drift_psi_threshold,
        ks=settings.drift_ks_threshold,
        categorical=settings.drift_categorical_threshold,
        score_psi=settings.drift_score_psi_threshold,
    )


def report_path(settings: Settings, report: str, day: dt.date) -> str | Path:
    """Where the HTML report of one day goes (a path, or a URI with reports on S3)."""
    return objects.join(settings.reports_dir, report, f"{day.isoformat()}.html")


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day of [start, end)."""
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


class Profiles:
    """Monitoring profiles of model versions, loaded once per run."""

    def __init__(self, settings: Settings) -> None:
        self._tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
        self._name = settings.model_name
        self._cache: dict[str, MonitoringProfile] = {}

    def get(self, version: str) -> MonitoringProfile:
        """The profile of ``version`` (loaded on first use)."""
        if version not in self._cache:
            self._cache[version] = monitoring_profile(self._tracking, self._name, version)
        return self._cache[version]


def majority_version(scores: pl.DataFrame) -> str:
    """The model version that scored most of these rows."""
    counts = scores.group_by("model_version").len().sort(["len", "model_version"])
    return str(counts.get_column("model_version")[-1])


def fmt(value: float | None) -> str:
    """A statistic for people (3 decimals, — for none)."""
    return "—" if value is None else f"{value:.3f}"


def as_float(value: float | None) -> float:
    """A statistic for numeric metadata (NaN for none)."""
    return float("nan") if value is None else float(value)
