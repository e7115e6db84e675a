"""The code location: every asset, check, sensor, job and resource of the platform.

Each stage lives in its own folder under ``defs/`` (the folder name is the UI group); the
computation behind it lives under ``lib/`` as plain Python over Polars and Delta.
"""

import dagster as dg

from ml_platform.defs.analytics.assets import analytics_assets
from ml_platform.defs.automation.jobs import (
    daily_job,
    feature_job,
    ingestion_job,
    monitoring_job,
    scoring_job,
    training_job,
    warehouse_job,
)
from ml_platform.defs.automation.schedules import (
    automation_sensor,
    daily_schedule,
    training_schedule,
)
from ml_platform.defs.feature_store.assets import feature_store_assets
from ml_platform.defs.features.assets import feature_assets
from ml_platform.defs.ingestion.assets import (
    bronze_assets,
    landing_specs,
    ledger_spec,
    quarantine_spec,
)
from ml_platform.defs.ingestion.sensors import landing_sensor
from ml_platform.defs.monitoring.assets import build_monitoring_assets
from ml_platform.defs.monitoring.sensors import retraining_sensor
from ml_platform.defs.resources import PlatformResource
from ml_platform.defs.scoring.assets import scoring_assets
from ml_platform.defs.serving.assets import online_scores_spec
from ml_platform.defs.staging.assets import silver_assets
from ml_platform.defs.training.assets import training_assets
from ml_platform.lib import dagster_migrations
from ml_platform.settings import Settings

# Before this process opens the instance: its storages then check and stamp their files
# without re-reading Dagster's migration scripts each time (``lib/dagster_migrations.py``).
dagster_migrations.install()


def _k8s_job_executor() -> dg.ExecutorDefinition:
    """Each step in its own Kubernetes Job (dagster-k8s, ``production`` extra), imported lazily.

    A backfill's partitions then run in parallel pods, within the run's ``max_concurrent``
    steps and the instance's concurrency pools (deploy/production/helm-values.yaml).
    """
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor


_EXECUTORS = {
    "in_process": lambda: dg.in_process_executor,
    "multiprocess": lambda: dg.multiprocess_executor,
    "k8s": _k8s_job_executor,
}


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assemble the platform's definitions for the given settings."""
    if settings.executor not in _EXECUTORS:
        raise ValueError(
            f"ML_PLATFORM_EXECUTOR={settings.executor!r}: expected one of {sorted(_EXECUTORS)}"
        )
    return dg.Definitions(
        assets=[
            *landing_specs,
            quarantine_spec,
            ledger_spec,
            *bronze_assets,
            *silver_assets,
            *feature_assets,
            *feature_store_assets,
            *training_assets,
            *scoring_assets,
            online_scores_spec,
            *build_monitoring_assets(settings),
            *analytics_assets,
        ],
        jobs=[
            ingestion_job,
            feature_job,
            training_job,
            scoring_job,
            monitoring_job,
            daily_job,
            warehouse_job,
        ],
        schedules=[daily_schedule, training_schedule],
        sensors=[
            landing_sensor,
            retraining_sensor,
            automation_sensor(settings.automation_interval_seconds),
        ],
        resources={"platform": PlatformResource.from_settings(settings)},
        executor=_EXECUTORS[settings.executor](),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Definitions for the current environment (see ``settings.py``)."""
    return build_definitions(Settings.from_env())
