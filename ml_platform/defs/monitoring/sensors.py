"""The retraining sensor: drift or matured-performance decay requests one retrain per episode.

Each tick re-plans from the monitoring tables with ``plan_retraining`` (pure, deterministic),
so its decisions never depend on a cursor that could be lost. The cursor only remembers which
run keys were already handled, and the run keys make Dagster drop a repeated request even
without it. Only the newest new request is launched (a retrain now learns from everything up
to now; older requests in the same tick are superseded and logged), and none while a
training run is queued or running.
"""

import json

import dagster as dg

from ml_platform.defs.automation.jobs import training_job
from ml_platform.defs.monitoring.assets import DRIFT_TABLE, PERFORMANCE_TABLE
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.monitoring.retraining import (
    RetrainRequest,
    drift_evidence,
    performance_evidence,
    plan_retraining,
)

CURSOR_KEYS_KEPT = 200
# A run in one of these states has not finished yet.
ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def planned_retrains(platform: PlatformResource) -> list[RetrainRequest]:
    """Every retrain the monitoring history calls for (see ``plan_retraining``)."""
    settings = platform.settings()
    lake = platform.lake()
    evidence = []
    if lake.exists(DRIFT_TABLE):
        evidence += drift_evidence(lake.read(DRIFT_TABLE), settings.drift_min_importance)
    if lake.exists(PERFORMANCE_TABLE):
        evidence += performance_evidence(lake.read(PERFORMANCE_TABLE))
    return plan_retraining(evidence, settings.retrain_cooldown_days)


def _handled(cursor: str | None) -> list[str]:
    if not cursor:
        return []
    try:
        keys = json.loads(cursor).get("handled", [])
    except (ValueError, AttributeError):
        return []
    return [str(k) for k in keys]


@dg.sensor(
    name="retraining_sensor",
    job=training_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests a retraining run (training set → challenger → champion gate) when the daily "
        "drift report shows drift on a feature that matters to the model (share of gain ≥ "
        "ML_PLATFORM_DRIFT_MIN_IMPORTANCE) or on the score, or when matured performance falls "
        "below the champion's validation ROC-AUC by ML_PLATFORM_PERFORMANCE_MARGIN. One "
        "request per drift episode and model version (run key), at least "
        "ML_PLATFORM_RETRAIN_COOLDOWN_DAYS data days apart, never while a retrain is running. "
        "The reason is in the run's tags and this sensor's tick log."
    ),
)
def retraining_sensor(context: dg.SensorEvaluationContext, platform: PlatformResource):
    """Turn monitoring evidence into at most one retraining request per tick."""
    requests = planned_retrains(platform)
    handled = _handled(context.cursor)
    new = [r for r in requests if r.run_key not in handled]
    if not new:
        latest = requests[-1].evidence.detail if requests else "none"
        return dg.SkipReason(
            f"no new evidence: {len(requests)} retrain(s) requested so far (latest: {latest})"
        )
    active = context.instance.get_run_records(
        dg.RunsFilter(job_name=training_job.name, statuses=ACTIVE_RUN_STATUSES), limit=1
    )
    if active:
        return dg.SkipReason(
            f"{len(new)} new retrain request(s) wait: training run "
            f"{active[0].dagster_run.run_id} is still in progress"
        )
    chosen = new[-1]
    for superseded in new[:-1]:
        context.log.info(
            f"superseded by the newer request {chosen.run_key}: {superseded.evidence.detail}"
        )
    context.log.info(f"requesting retraining {chosen.run_key}: {chosen.evidence.detail}")
    cursor = json.dumps({"handled": [*handled, *(r.run_key for r in new)][-CURSOR_KEYS_KEPT:]})
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=chosen.run_key, tags=chosen.tags)], cursor=cursor
    )
