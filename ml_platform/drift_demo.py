"""``ml-platform drift-demo``: a drift scenario played day by day, with its timeline.

A world of its own under ``$DATA_DIR/drift_demo`` (lake, Feast, MLflow, reports and a Dagster
instance), so the main demo's data is untouched: the first champion is trained once the
30-day windows are complete, a quiet stretch is scored and monitored, then the scenario
starts and the days arrive one at a time, the retraining sensor ticking after each.
"""

import dataclasses
import shutil
import time
from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform.defs import keys
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.playback import Playback
from ml_platform.settings import Settings

TRAIN_DAY, ONSET, WATCH_DAYS = 52, 70, 6
MATURITY_DAYS = 14  # so a champion can be trained on day 52 of the simulation


def play(settings: Settings, scenario: str) -> int:
    """Run the drift demo and print its timeline; 0 when drift led to a retraining request."""
    started = time.perf_counter()
    root = Path(settings.data_dir) / "drift_demo"
    shutil.rmtree(root, ignore_errors=True)
    world_settings = dataclasses.replace(
        Settings.under(root), label_maturity_days=MATURITY_DAYS, performance_margin=0.05
    )
    config = SimulationConfig(
        days=ONSET + WATCH_DAYS,
        customers=4_000,
        merchants=1_500,
        seed=11,
        scenario=scenario,
        onset_day=ONSET,
    )
    print(
        f"== drift demo: scenario {scenario!r} starts on {config.date_of(ONSET)} "
        f"(day {ONSET}); world in {root}"
    )
    home = root / "dagster_home"
    home.mkdir(parents=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        world = Playback.simulate(config, world_settings, instance, root / "staging", print)
        print(f"== training the first champion on days 0…{TRAIN_DAY - 1}")
        world.start(TRAIN_DAY)
        print(f"== quiet stretch {config.date_of(TRAIN_DAY)}…{config.date_of(ONSET - 1)}")
        world.feed(TRAIN_DAY, ONSET - 1)
        tick = world.tick()
        print(f"   retraining sensor: {'REQUESTED' if tick.requested else tick.message}")
        detected = None
        lake = DeltaLake(world_settings.lake_uri)
        for day in range(ONSET, ONSET + WATCH_DAYS):
            world.feed(day, day)
            _print_day(lake, config.date_of(day), day - ONSET)
            tick = world.tick()
            if tick.requested:
                detected = detected if detected is not None else day
                _print_retrain(instance, tick)
            else:
                print(f"   retraining sensor: {tick.message}")
    print(f"\n== timeline: onset {config.date_of(ONSET)}", end="")
    if detected is None:
        print(f", no retraining requested within {WATCH_DAYS} days")
    else:
        print(
            f", retraining requested on {config.date_of(detected)} "
            f"(day {detected - ONSET + 1} of the drift)"
        )
    print(f"   drift reports: {Path(world_settings.reports_dir) / 'feature_drift'}")
    print(
        f"   browse it: DAGSTER_HOME={home} ML_PLATFORM_DATA_DIR={root} "
        f"ML_PLATFORM_LABEL_MATURITY_DAYS={MATURITY_DAYS} make dev"
    )
    print(f"drift demo finished in {time.perf_counter() - started:.1f} s")
    return 0 if detected is not None else 1


def _print_day(lake: DeltaLake, day: object, index: int) -> None:
    rows = lake.read("monitoring/feature_drift").filter(
        (pl.col("event_date") == day) & pl.col("judged")
    )
    drifted = rows.filter(pl.col("drifted")).sort("importance", descending=True)
    worst = rows.sort("psi", descending=True).row(0, named=True)
    names = ", ".join(drifted.get_column("feature").head(4).to_list()) or "none"
    print(
        f"-- {day} (drift day {index + 1}): {drifted.height} drifted ({names}); "
        f"worst PSI {worst['psi']:.3f} ({worst['feature']})"
    )


def _print_retrain(instance: dg.DagsterInstance, tick) -> None:
    print(f"   retraining sensor: REQUESTED — {tick.message}")
    gate = instance.get_latest_materialization_event(keys.CHAMPION)
    if tick.run is None or gate is None or gate.asset_materialization is None:
        return
    meta = {k: v.value for k, v in gate.asset_materialization.metadata.items()}
    print(
        f"   retrain run {tick.run.run_id[:8]} {'succeeded' if tick.run.success else 'FAILED'}; "
        f"champion gate: {meta.get('outcome')} — {meta.get('reason')}"
    )
