"""Schedules: clock-driven runs for deployments that want them.

``daily_schedule`` (06:00 UTC, stopped by default: declarative automation already brings
every day up to date as its data lands) rebuilds features, the feature store, scores and
monitoring for the newest complete day in silver. ``training_schedule`` (Mondays 03:00 UTC,
running by default) retrains weekly whatever the monitoring says; the champion gate decides
whether the new model replaces the champion.
"""

import datetime as dt

import dagster as dg
import polars as pl

from ml_platform.defs.automation.jobs import daily_job, training_job
from ml_platform.defs.resources import PlatformResource


def newest_complete_day(platform: PlatformResource, today: dt.date) -> dt.date | None:
    """The newest day silver holds that has ended (never today's partial day)."""
    lake = platform.lake()
    if not lake.exists("silver/transactions"):
        return None
    newest = (
        lake.scan("silver/transactions")
        .filter(pl.col("event_date") < today)
        .select(pl.col("event_date").max())
        .collect()
        .item()
    )
    return newest


@dg.schedule(
    name="daily_schedule",
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    job=daily_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Every day at 06:00 UTC: features → feature store → scores → drift and performance "
        "reports for the newest complete day in silver. Off by default (automation does this "
        "as data lands); turn it on where data reaches the lake by other means."
    ),
)
def daily_schedule(context: dg.ScheduleEvaluationContext, platform: PlatformResource):
    """Request the newest complete day's partitions."""
    today = context.scheduled_execution_time.astimezone(dt.UTC).date()
    day = newest_complete_day(platform, today)
    if day is None:
        return dg.SkipReason("silver/transactions holds no complete day yet")
    return dg.RunRequest(
        run_key=f"daily:{day.isoformat()}:{today.isoformat()}",
        partition_key=day.isoformat(),
        tags={"ml_platform/trigger": "daily_schedule"},
    )


training_schedule = dg.ScheduleDefinition(
    name="training_schedule",
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    job=training_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"ml_platform/trigger": "training_schedule"},
    description=(
        "Weekly retraining, Mondays 03:00 UTC, regardless of drift: training set → challenger "
        "→ champion gate (the champion only changes if the challenger is better by the margin)."
    ),
)


def automation_sensor(interval_seconds: int = 30) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates every asset's automation condition, on by default."""
    return dg.AutomationConditionSensorDefinition(
        "automation_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_seconds,
        description=(
            "Evaluates every asset's automation condition: a new or corrected bronze partition "
            "flows through silver, features, the online store, scores and monitoring with no "
            "manual step (see defs/automation/conditions.py)."
        ),
    )
