"""Resources: the one place where configuration turns into objects the assets use."""

import dataclasses

import dagster as dg

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import Settings


class PlatformResource(dg.ConfigurableResource):
    """Every storage location of the platform.

    Defaults come from ``ML_PLATFORM_*`` environment variables (see ``settings.py`` and the
    README); production points them elsewhere (e.g. ``ML_PLATFORM_LAKE_URI=s3://…``).
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

    def lake(self) -> DeltaLake:
        """The Delta lake rooted at ``lake_uri``."""
        return DeltaLake(self.lake_uri)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlatformResource":
        """Build the resource from resolved settings."""
        return cls(
            data_dir=settings.data_dir,
            landing_dir=settings.landing_dir,
            lake_uri=settings.lake_uri,
            ground_truth_dir=settings.ground_truth_dir,
            feast_repo_dir=settings.feast_repo_dir,
            feast_dir=settings.feast_dir,
            mlflow_tracking_uri=settings.mlflow_tracking_uri,
            mlflow_artifact_root=settings.mlflow_artifact_root,
            landing_settle_seconds=settings.landing_settle_seconds,
        )

    def settings(self) -> Settings:
        """These locations as :class:`Settings` (for library code that takes settings)."""
        defaults = Settings.from_env()
        return dataclasses.replace(
            defaults,
            data_dir=self.data_dir,
            landing_dir=self.landing_dir,
            lake_uri=self.lake_uri,
            ground_truth_dir=self.ground_truth_dir,
            feast_repo_dir=self.feast_repo_dir,
            feast_dir=self.feast_dir,
            mlflow_tracking_uri=self.mlflow_tracking_uri,
            mlflow_artifact_root=self.mlflow_artifact_root,
            landing_settle_seconds=self.landing_settle_seconds,
        )
