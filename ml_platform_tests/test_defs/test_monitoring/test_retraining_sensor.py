"""The retraining sensor through every cursor transition, on a real lake in tmp."""

import datetime as dt
import json

import dagster as dg
import polars as pl

from ml_platform.defs.monitoring.assets import DRIFT_TABLE
from ml_platform.defs.monitoring.sensors import retraining_sensor
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import Settings


def _drift(days: list[dt.date], version: str = "1", psi: float = 0.4) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_date": days,
            "model_version": [version] * len(days),
            "feature": ["amount"] * len(days),
            "kind": ["numeric"] * len(days),
            "psi": [psi] * len(days),
            "importance": [0.2] * len(days),
            "drifted": [psi >= 0.1] * len(days),
            "judged": [True] * len(days),
            "reason": [f"PSI {psi} >= 0.1"] * len(days),
        }
    )


def _tick(instance: dg.DagsterInstance, platform: PlatformResource, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"platform": platform}
    )
    return retraining_sensor(context)


def test_cursor_transitions(
    settings: Settings, lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    # No monitoring yet.
    result = _tick(instance, platform, None)
    assert isinstance(result, dg.SkipReason) and "0 retrain(s)" in (result.skip_message or "")

    # A quiet day: nothing.
    lake.replace(DRIFT_TABLE, _drift([dt.date(2026, 3, 1)], psi=0.02), None)
    assert isinstance(_tick(instance, platform, None), dg.SkipReason)

    # Drift on important features for three days: one request, with the reason in its tags.
    days = [dt.date(2026, 3, d) for d in (2, 3, 4)]
    lake.replace(DRIFT_TABLE, _drift(days), None)
    result = _tick(instance, platform, None)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests
    assert request.run_key == "retrain:drift:v1:2026-03-02"
    assert request.tags["ml_platform/trigger"] == "retraining_sensor"
    assert "amount (PSI 0.4 >= 0.1, 20% of gain)" in request.tags["ml_platform/retrain_reason"]
    assert json.loads(result.cursor or "{}")["handled"] == [request.run_key]

    # The next tick with the cursor: the same evidence requests nothing.
    again = _tick(instance, platform, result.cursor)
    assert isinstance(again, dg.SkipReason) and "no new evidence" in (again.skip_message or "")

    # A lost cursor re-plans the same request with the same run key (Dagster drops it).
    lost = _tick(instance, platform, "not json")
    assert isinstance(lost, dg.SensorResult) and lost.run_requests[0].run_key == request.run_key


def test_no_request_while_a_retrain_is_running(
    lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    lake.replace(DRIFT_TABLE, _drift([dt.date(2026, 3, 2)]), None)
    instance.add_run(
        dg.DagsterRun(job_name="training_job", run_id="a" * 36, status=dg.DagsterRunStatus.STARTED)
    )
    result = _tick(instance, platform, None)
    assert isinstance(result, dg.SkipReason)
    assert "still in progress" in (result.skip_message or "")
