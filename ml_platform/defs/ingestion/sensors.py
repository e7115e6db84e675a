"""The landing sensor: new or changed files start ingestion of exactly what they touch."""

import datetime as dt
import json

import dagster as dg

from ml_platform.defs import keys
from ml_platform.defs.automation.jobs import ingestion_job
from ml_platform.defs.partitions import daily_partitions
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.ingestion.planning import PlannedRun, plan_runs, scan_landing

# What each source's run refreshes: its bronze table and the silver table built from it.
RUN_TARGETS: dict[str, list[dg.AssetKey]] = {
    "transactions": [keys.BRONZE["transactions"], keys.SILVER_TRANSACTIONS],
    "chargebacks": [keys.BRONZE["chargebacks"], keys.SILVER_LABELS],
    "customers": [keys.BRONZE["customers"], keys.SILVER_CUSTOMERS],
}


def run_request(run: PlannedRun) -> dg.RunRequest:
    """The Dagster run request for a planned ingestion run."""
    tags = {
        "ml_platform/trigger": "landing_sensor",
        "ml_platform/source": run.source,
        "ml_platform/files": str(len(run.files)),
    }
    if run.first_date is not None and run.last_date is not None:
        tags["dagster/asset_partition_range_start"] = run.first_date.isoformat()
        tags["dagster/asset_partition_range_end"] = run.last_date.isoformat()
    return dg.RunRequest(run_key=run.run_key, asset_selection=RUN_TARGETS[run.source], tags=tags)


def is_partition_date(day: dt.date) -> bool:
    """Whether ``day`` is a partition of the daily partitions (now)."""
    return daily_partitions.has_partition_key(day.isoformat())


@dg.sensor(
    name="landing_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    target=ingestion_job,
    description=(
        "Watches the landing folder. Files not in the ingestion ledger (new, or changed size / "
        "modification time) that have not been modified for `landing_settle_seconds` start "
        "ingestion runs: transactions for the event-date partitions their rows fall on, "
        "chargebacks and customers unpartitioned. Run keys come from the files' identities."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, platform: PlatformResource):
    """Request ingestion runs for new or changed landing files."""
    requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    now = dt.datetime.now(dt.UTC)
    scan = scan_landing(
        platform.lake(), platform.landing_dir, now, platform.landing_settle_seconds, requested
    )
    if scan.pending:
        context.log.info(
            f"waiting for {len(scan.pending)} file(s) still being written: "
            + ", ".join(f.relpath for f in scan.pending[:5])
        )
    if not scan.files:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("no new or changed landing files"),
            cursor=json.dumps(scan.in_flight, sort_keys=True),
        )
    last_partition = daily_partitions.get_last_partition_key()
    fallback = dt.date.fromisoformat(last_partition) if last_partition else now.date()
    runs = plan_runs(scan, is_partition_date, fallback)
    for run in runs:
        context.log.info(
            f"requesting {run.source} ingestion of {len(run.files)} file(s)"
            + (f" for {run.first_date}…{run.last_date}" if run.first_date else "")
        )
    # The cursor remembers requested files until the ledger records them, so it stays small.
    requested = {**scan.in_flight, **{f.relpath: f.fingerprint for f in scan.files}}
    observations = [
        dg.AssetObservation(
            keys.LANDING[source],
            metadata={
                "new_or_changed_files": len(files),
                "bytes": sum(f.size for f in files),
                "files": dg.MetadataValue.json([f.relpath for f in files[:50]]),
            },
        )
        for source, files in scan.ready.items()
    ]
    return dg.SensorResult(
        run_requests=[run_request(run) for run in runs],
        cursor=json.dumps(requested, sort_keys=True),
        asset_events=observations,
    )
