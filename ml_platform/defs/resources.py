"""Resources: the one place where configuration turns into objects the assets use."""

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
            landing_settle_seconds=settings.landing_settle_seconds,
        )
