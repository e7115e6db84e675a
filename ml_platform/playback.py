"""Play simulated days into the platform one at a time, as the daemon would see them.

Used by ``ml-platform drift-demo`` and the drift-scenario system test: simulated landing files
are staged aside, then each "day" is landed, ingested, featurized, scored and monitored, and
the retraining sensor is evaluated once, with whatever run it requests executed in-process
with the sensor's run key (so a daemon started later does not repeat it).
"""

import dataclasses
import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from ml_platform.lib.simulation import SimulationConfig, simulate
from ml_platform.runner import (
    RetrainTick,
    run_features,
    run_ingestion,
    run_monitoring,
    run_scoring,
    run_training,
    tick_retraining_sensor,
)
from ml_platform.settings import Settings


class PlaybackError(RuntimeError):
    """A step of the playback failed (the message names the run to look at)."""


@dataclasses.dataclass
class Playback:
    """A simulated world fed into the platform day by day.

    Attributes:
        config: What was simulated (all days, staged aside).
        settings: The platform's settings (its landing folder receives the days).
        instance: The Dagster instance the runs are recorded in.
        staging: Where the simulated files wait to be landed.
        cursor: The retraining sensor's cursor between ticks.
    """

    config: SimulationConfig
    settings: Settings
    instance: dg.DagsterInstance
    staging: Path
    cursor: str | None = None
    log: Callable[[str], None] = lambda _: None

    @classmethod
    def simulate(
        cls,
        config: SimulationConfig,
        settings: Settings,
        instance: dg.DagsterInstance,
        staging: Path,
        log: Callable[[str], None] = lambda _: None,
    ) -> "Playback":
        """Simulate every day of ``config`` into ``staging`` (nothing is landed yet)."""
        simulate(config, staging, Path(settings.ground_truth_dir), progress=False)
        return cls(config, settings, instance, staging, log=log)

    def land(self, last_day: int) -> None:
        """Copy the staged files of every day up to ``last_day`` into the landing folder."""
        last = self.config.date_of(last_day)
        for source in sorted(self.staging.rglob("*.csv")):
            if dt.date.fromisoformat(source.stem.rsplit("_", 1)[-1]) > last:
                continue
            target = Path(self.settings.landing_dir) / source.relative_to(self.staging)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                settled = time.time() - 3600
                os.utime(target, (settled, settled))

    def start(self, train_day: int) -> None:
        """Land the days before ``train_day``, build everything, train the first champion."""
        self.land(train_day - 1)
        self._ok(all(o.success for o in run_ingestion(self.settings, self.instance)), "ingestion")
        for run in (run_features, run_training, run_scoring):
            outcome = run(self.settings, self.instance)
            self._ok(outcome is not None and outcome.success, run.__name__)

    def feed(self, first_day: int, last_day: int) -> None:
        """Land days first..last, then ingest, featurize, score and monitor them."""
        self.land(last_day)
        self._ok(all(o.success for o in run_ingestion(self.settings, self.instance)), "ingestion")
        first, last = self.config.date_of(first_day), self.config.date_of(last_day)
        for run in (run_features, run_scoring, run_monitoring):
            outcome = run(self.settings, self.instance, first=first, last=last)
            self._ok(outcome is not None and outcome.success, run.__name__)

    def tick(self) -> RetrainTick:
        """Evaluate the retraining sensor once; run what it requests."""
        tick = tick_retraining_sensor(self.settings, self.instance, self.cursor, self.log)
        self.cursor = tick.cursor
        return tick

    @staticmethod
    def _ok(success: bool, what: str) -> None:
        if not success:
            raise PlaybackError(f"{what} failed: see the run in `make dev` → Runs")
