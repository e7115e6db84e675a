"""The platform as a system on the simulator's drift scenario, day by day.

A 2,000-customer world: the champion is trained once the 30-day windows are complete, then
31 quiet days are scored and monitored (the no-drift control: days before the onset are
identical to the ``none`` scenario with the same seed), then amounts start inflating and the
days are fed one at a time, as the landing folder would receive them, with a retraining
sensor tick after each, exactly as the daemon would evaluate it.
"""

import dataclasses
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.playback import Playback
from ml_platform.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TRAIN_DAY, ONSET, DAYS = 52, 83, 87
CONFIG = SimulationConfig(
    days=DAYS,
    customers=2_000,
    merchants=1_500,
    seed=7,
    scenario="amount_inflation",
    onset_day=ONSET,
)


@pytest.fixture
def world(tmp_path: Path, settings: Settings, instance: dg.DagsterInstance) -> Playback:
    # ~120 frauds per 7-day window at this scale: ROC-AUC moves by ~0.03 from noise alone,
    # so the performance margin is wider than the production default.
    settings = dataclasses.replace(settings, label_maturity_days=14, performance_margin=0.08)
    world = Playback.simulate(CONFIG, settings, instance, tmp_path / "staging")
    world.start(TRAIN_DAY)  # also scores the history: the cohorts performance reports need
    return world


def test_drift_is_detected_within_three_days_and_a_quiet_month_retrains_nothing(
    world: Playback,
) -> None:
    lake = DeltaLake(world.settings.lake_uri)
    # Control: 31 quiet days (no drift), fed in chunks, the sensor ticking after each.
    for first, last in ((TRAIN_DAY, TRAIN_DAY + 10), (TRAIN_DAY + 11, ONSET - 1)):
        world.feed(first, last)
        tick = world.tick()
        assert not tick.requested, tick.message
    drift = lake.read("monitoring/feature_drift")
    monitored = drift.filter(pl.col("judged")).get_column("event_date").unique()
    assert monitored.len() >= 30  # every quiet day was judged, none called for a retrain
    assert lake.read("monitoring/model_performance").height > 0

    # Drift: amounts inflate from the onset day on. Detected within 3 days.
    requested_on = None
    for day in range(ONSET, ONSET + 3):
        world.feed(day, day)
        tick = world.tick()
        if tick.requested:
            requested_on = day
            break
    assert requested_on is not None, "no retraining requested within 3 days of the onset"
    assert tick.run is not None and tick.run.success
    assert tick.tags is not None and tick.tags["ml_platform/retrain_kind"] == "drift"
    assert "amount" in tick.tags["ml_platform/retrain_reason"]
    run = world.instance.get_run_by_id(tick.run.run_id)
    assert run is not None and run.tags["dagster/run_key"].startswith("retrain:drift:v1:")
    gate = world.instance.get_latest_materialization_event(dg.AssetKey(["ml", "champion"]))
    assert gate is not None and gate.run_id == tick.run.run_id  # the gate decided

    # The next day's evidence is the same episode: no second retrain.
    world.feed(requested_on + 1, requested_on + 1)
    assert not world.tick().requested
    report = Path(world.settings.reports_dir) / "feature_drift"
    assert (report / f"{CONFIG.date_of(requested_on)}.html").exists()
