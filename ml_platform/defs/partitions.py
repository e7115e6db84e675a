"""Partitions shared by the event-date assets."""

import datetime as dt

import dagster as dg

from ml_platform.settings import Settings

PARTITION_START = Settings.from_env().partition_start

# end_offset=1: today's partition exists, so files landing during the day are ingested the
# same day instead of waiting for midnight.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITION_START.isoformat(), end_offset=1, timezone="UTC"
)

single_run_backfill = dg.BackfillPolicy.single_run()


def window_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """The run's partition window as ``[start, end)`` dates."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()
