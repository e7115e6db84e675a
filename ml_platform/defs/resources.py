"""Resources: the one place where configuration turns into objects the assets use."""

import dataclasses

import dagster as dg

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import Settings

# Settings that are not per-run configuration: the partitions and the executor are fixed
# when the code location loads.
_LOAD_TIME_ONLY = ("partition_start", "executor", "automation_interval_seconds")


class PlatformResource(dg.ConfigurableResource):
    """Every storage location and tunable of the platform.

    Defaults come from ``ML_PLATFORM_*`` environment variables (see ``settings.py`` and the
    README); production points them elsewhere (e.g. ``ML_PLATFORM_LAKE_URI=s3://…``). The
    values show in the UI (Deployment → Resources), so what a run used is never a guess. The
    fields mirror ``Settings`` (defaults live there only); ``from_settings`` fills them all.
    """

    data_dir: str
    landing_dir: str
    lake_uri: str
    ground_truth_dir: str
    feast_repo_dir: str
    feast_dir: str
    feast_online_store: str
    feast_registry: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    reports_dir: str
    warehouse_path: str
    landing_settle_seconds: float
    model_name: str
    label_maturity_days: int
    decision_threshold: float
    promotion_margin: float
    champion_min_roc_auc: float
    seed: int
    drift_psi_threshold: float
    drift_ks_threshold: float
    drift_categorical_threshold: float
    drift_score_psi_threshold: float
    drift_min_importance: float
    performance_window_days: int
    performance_margin: float
    retrain_cooldown_days: int

    def lake(self) -> DeltaLake:
        """The Delta lake rooted at ``lake_uri``."""
        return DeltaLake(self.lake_uri)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlatformResource":
        """Build the resource from resolved settings."""
        return cls(
            **{
                field.name: getattr(settings, field.name)
                for field in dataclasses.fields(Settings)
                if field.name not in _LOAD_TIME_ONLY
            }
        )

    def settings(self) -> Settings:
        """This configuration as :class:`Settings` (for library code that takes settings)."""
        defaults = Settings.from_env()
        return dataclasses.replace(
            defaults,
            **{
                field.name: getattr(self, field.name)
                for field in dataclasses.fields(Settings)
                if field.name not in _LOAD_TIME_ONLY
            },
        )
