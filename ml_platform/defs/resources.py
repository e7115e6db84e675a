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
    values show in the UI (Deployment → Resources), so what a run used is never a guess.
    """

    data_dir: str
    landing_dir: str
    lake_uri: str
    ground_truth_dir: str
    feast_repo_dir: str
    feast_dir: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    landing_settle_seconds: float = 5.0
    reports_dir: str
    model_name: str = "fraud_detector"
    label_maturity_days: int = 30
    decision_threshold: float = 0.5
    promotion_margin: float = 0.002
    champion_min_roc_auc: float = 0.80
    seed: int = 42
    drift_psi_threshold: float = 0.1
    drift_ks_threshold: float = 0.1
    drift_categorical_threshold: float = 0.1
    drift_score_psi_threshold: float = 0.1
    drift_min_importance: float = 0.01
    performance_window_days: int = 7
    performance_margin: float = 0.03
    retrain_cooldown_days: int = 7

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
