"""Running the platform's ingestion in-process against a Dagster instance.

Used by ``ml-platform ingest`` / ``ml-platform demo`` and the end-to-end tests. It plans the
runs exactly as the landing sensor does and executes them against the instance in
``DAGSTER_HOME``, so ``dagster dev`` afterwards shows them in its run history.
"""

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform.definitions import build_definitions
from ml_platform.defs import keys
from ml_platform.defs.ingestion.sensors import is_partition_date, run_request
from ml_platform.defs.monitoring.sensors import retraining_sensor
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.ingestion.planning import plan_runs, scan_landing
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.signals import preserved_sigterm
from ml_platform.lib.staging.transforms import SILVER_LABELS
from ml_platform.settings import PROJECT_ROOT, Settings

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"
INSTANCE_TEMPLATE = PROJECT_ROOT / "deploy" / "local" / "dagster.yaml"
# Runs log to the instance (visible in `make dev`); the terminal only shows warnings.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class RunOutcome:
    """One executed run."""

    run_id: str
    source: str
    partitions: str
    success: bool


def ensure_dagster_home() -> Path:
    """Make sure ``DAGSTER_HOME`` is set and holds the project's ``dagster.yaml``."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return home


def run_ingestion(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
) -> list[RunOutcome]:
    """Ingest every new or changed landing file, one run per planned request."""
    lake = DeltaLake(settings.lake_uri)
    scan = scan_landing(lake, settings.landing_dir, dt.datetime.now(dt.UTC), settle_seconds=0)
    if not scan.files:
        log("no new or changed landing files")
        return []
    runs = plan_runs(scan, is_partition_date, dt.datetime.now(dt.UTC).date())
    # Asked to ingest now: the operator vouches the files are complete (files that change
    # while they are read are still skipped).
    settings = replace(settings, landing_settle_seconds=0.0)
    outcomes = []
    for planned in runs:
        request = run_request(planned)
        span = (
            f"{planned.first_date}…{planned.last_date}" if planned.first_date else "unpartitioned"
        )
        log(f"ingesting {planned.source}: {len(planned.files)} file(s), {span}")
        outcomes.append(
            _execute(
                settings,
                instance,
                "ingestion_job",
                {**request.tags, "ml_platform/trigger": "cli"},
                log,
                planned.source,
                span,
                asset_selection=list(request.asset_selection or []),
            )
        )
    if _labels_follow_transactions(lake, outcomes):
        # What the daemon's automation does after silver transactions change.
        log("refreshing silver labels: transactions changed after the last chargebacks run")
        outcomes.append(
            _execute(
                settings,
                instance,
                "ingestion_job",
                {"ml_platform/trigger": "cli"},
                log,
                "labels",
                "unpartitioned",
                asset_selection=[keys.SILVER_LABELS],
            )
        )
    return outcomes


def _labels_follow_transactions(lake: DeltaLake, outcomes: list[RunOutcome]) -> bool:
    """Whether silver labels should be rebuilt after this ingestion.

    Labels carry their transaction's customer, merchant and time, copied when labels are built
    (by the chargebacks run). True when transactions ran after the last chargebacks run and
    labels exist: a chargeback may have landed before its transaction, or a corrected file may
    have moved a labelled transaction to another merchant, customer or time.
    """
    done = {outcome.source: i for i, outcome in enumerate(outcomes) if outcome.success}
    if done.get("transactions", -1) <= done.get("chargebacks", -1):
        return False
    return lake.exists(SILVER_LABELS)


def _execute(
    settings: Settings,
    instance: dg.DagsterInstance,
    job_name: str,
    tags: dict[str, str],
    log: Callable[[str], None],
    source: str,
    partitions: str,
    asset_selection: list[dg.AssetKey] | None = None,
) -> RunOutcome:
    """Execute a job of the code location in-process, recorded in ``instance``."""
    job = build_definitions(settings).resolve_job_def(job_name)
    with preserved_sigterm():  # Dagster would leave SIGTERM ignored in a background process
        result = job.execute_in_process(
            instance=instance,
            asset_selection=asset_selection,
            tags=tags,
            run_config=_QUIET,
            raise_on_error=False,
        )
    if not result.success:
        log(f"run {result.run_id} failed: see `make dev` → Runs for the error")
    return RunOutcome(result.run_id, source, partitions, result.success)


def silver_date_range(settings: Settings) -> tuple[dt.date, dt.date] | None:
    """First and last event date in silver transactions (``None`` before any ingestion)."""
    lake = DeltaLake(settings.lake_uri)
    if not lake.exists("silver/transactions"):
        return None
    bounds = (
        lake.scan("silver/transactions")
        .select(pl.col("event_date").min().alias("first"), pl.col("event_date").max().alias("last"))
        .collect()
        .row(0)
    )
    return None if bounds[0] is None else (bounds[0], bounds[1])


def run_features(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> RunOutcome | None:
    """Build features (and the feature store) for every day silver holds, in one run."""
    return _run_over_silver_days(settings, instance, "feature_job", "features", log, first, last)


def run_training(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
) -> RunOutcome:
    """Train a challenger, log it to MLflow and run the champion gate, in one run."""
    log("training: training set → LightGBM challenger → champion gate")
    return _run_unpartitioned(settings, instance, "training_job", "training", log)


def run_scoring(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> RunOutcome | None:
    """Score every day silver holds with the champion, in one run."""
    return _run_over_silver_days(settings, instance, "scoring_job", "scores", log, first, last)


def run_monitoring(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> RunOutcome | None:
    """Drift and performance reports for every day silver holds (or ``first``…``last``)."""
    return _run_over_silver_days(settings, instance, "monitoring_job", "reports", log, first, last)


def run_warehouse(
    settings: Settings,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = lambda _: None,
) -> RunOutcome:
    """Rebuild the analysts' DuckDB warehouse and swap it in, in one run."""
    log(f"warehouse: lake + MLflow → {settings.warehouse_path}")
    return _run_unpartitioned(settings, instance, "warehouse_job", "warehouse", log)


def _run_unpartitioned(
    settings: Settings,
    instance: dg.DagsterInstance,
    job_name: str,
    what: str,
    log: Callable[[str], None],
) -> RunOutcome:
    return _execute(
        settings, instance, job_name, {"ml_platform/trigger": "cli"}, log, what, "unpartitioned"
    )


def _run_over_silver_days(
    settings: Settings,
    instance: dg.DagsterInstance,
    job_name: str,
    what: str,
    log: Callable[[str], None],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> RunOutcome | None:
    span = silver_date_range(settings)
    if span is None:
        log(f"no silver transactions yet: no {what} to build")
        return None
    first, last = first or span[0], last or span[1]
    log(f"building {what} for {first}…{last} (one step per asset)")
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
        "ml_platform/trigger": "cli",
    }
    return _execute(settings, instance, job_name, tags, log, what, f"{first}…{last}")


def check_statuses(settings: Settings, instance: dg.DagsterInstance) -> dict[str, str]:
    """Latest status of every asset check (``SUCCEEDED``, ``FAILED``, … or ``NOT_RUN``)."""
    graph = build_definitions(settings).resolve_asset_graph()
    keys = sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    statuses = {}
    for key in keys:
        record = latest.get(key)
        if record is None:
            statuses[f"{key.asset_key.to_user_string()}:{key.name}"] = "NOT_RUN"
            continue
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is not None:
            status = "PASSED" if evaluation.passed else "FAILED"
        else:
            status = record.status.value
        statuses[f"{key.asset_key.to_user_string()}:{key.name}"] = status
    return statuses


@dataclass(frozen=True)
class RetrainTick:
    """One evaluation of the retraining sensor, and the run it launched (if any)."""

    requested: bool
    message: str
    cursor: str | None
    run: RunOutcome | None = None
    tags: dict[str, str] | None = None


def tick_retraining_sensor(
    settings: Settings,
    instance: dg.DagsterInstance,
    cursor: str | None,
    log: Callable[[str], None] = lambda _: None,
) -> RetrainTick:
    """Evaluate ``retraining_sensor`` once and execute the retraining it requests in-process.

    The run carries the sensor's run key and name, exactly like a run the daemon launches,
    so a daemon started later (``make dev``) does not request the same retraining again.
    """
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        sensor_name=retraining_sensor.name,
        resources={"platform": PlatformResource.from_settings(settings)},
    )
    result = retraining_sensor(context)
    if isinstance(result, dg.SkipReason):
        return RetrainTick(False, result.skip_message or "", cursor)
    request = result.run_requests[0]
    already = instance.get_run_records(
        dg.RunsFilter(tags={"dagster/run_key": request.run_key or ""}), limit=1
    )
    if already:
        return RetrainTick(False, f"run key {request.run_key} already used", result.cursor)
    reason = request.tags.get("ml_platform/retrain_reason", "")
    log(f"retraining requested by retraining_sensor: {reason}")
    tags = {
        **request.tags,
        "dagster/run_key": request.run_key or "",
        "dagster/sensor_name": retraining_sensor.name,
    }
    outcome = _execute(
        settings,
        instance,
        "training_job",
        tags,
        log,
        "retraining",
        "unpartitioned",
    )
    return RetrainTick(True, reason, result.cursor, outcome, dict(request.tags))
