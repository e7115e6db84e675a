"""A tiny simulated world, run through the whole pipeline once per test session.

Shared by the warehouse tests (``test_lib/test_warehouse``, ``test_defs/test_analytics``):
landing → silver → features → model (MLflow) → scores → monitoring → warehouse, on 24 days
of 700 customers with a 4-day label maturity, so every warehouse table has rows, some days are
matured and some are not.
"""

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from ml_platform.lib.simulation import SimulationConfig
from ml_platform.runner import (
    run_features,
    run_ingestion,
    run_monitoring,
    run_scoring,
    run_training,
    run_warehouse,
)
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed

CONFIG = SimulationConfig(days=24, customers=700, merchants=120, seed=5)
MATURITY_DAYS = 4
MONITORED_DAYS = 6
# Low enough that the tiny model raises alerts, some of them true, on matured days.
DECISION_THRESHOLD = 0.1


@dataclass(frozen=True)
class World:
    """Settings of the built world and its Dagster home (a persistent sqlite instance)."""

    settings: Settings
    dagster_home: Path

    @property
    def warehouse(self) -> Path:
        """The published warehouse file."""
        return Path(self.settings.warehouse_path)

    @property
    def last_day(self) -> dt.date:
        """The newest simulated day."""
        return CONFIG.start + dt.timedelta(days=CONFIG.days - 1)


_WORLD: World | None = None


def warehouse_world(factory: pytest.TempPathFactory) -> World:
    """Build the world on first use (about a minute), then return the same one."""
    global _WORLD
    if _WORLD is None:
        _WORLD = _build(factory.mktemp("warehouse_world"))
    return _WORLD


def _build(root: Path) -> World:
    settings = dataclasses.replace(
        Settings.under(root / "data"),
        label_maturity_days=MATURITY_DAYS,
        decision_threshold=DECISION_THRESHOLD,
    )
    simulate_landed(CONFIG, settings)
    home = root / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        assert all(o.success for o in run_ingestion(settings, instance))
        assert _ok(run_features(settings, instance))
        assert run_training(settings, instance).success
        assert _ok(run_scoring(settings, instance))
        last = CONFIG.start + dt.timedelta(days=CONFIG.days - 1)
        first = last - dt.timedelta(days=MONITORED_DAYS - 1)
        assert _ok(run_monitoring(settings, instance, first=first, last=last))
        assert run_warehouse(settings, instance).success
    return World(settings, home)


def _ok(outcome: object) -> bool:
    return outcome is not None and bool(getattr(outcome, "success", False))
