from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from ml_platform.lib.simulation import SCENARIOS, SimulationConfig, simulate


def test_defaults_match_the_contract() -> None:
    config = SimulationConfig()
    assert config.start == datetime.date(2026, 1, 1)
    assert (config.days, config.customers, config.merchants, config.seed) == (90, 12_000, 1_500, 42)
    assert (config.scenario, config.onset_day, config.file_format) == ("none", None, "csv")
    assert config.end == datetime.date(2026, 3, 31)
    assert config.resolved_onset_day is None
    assert config.onset_date is None


def test_scenarios_are_the_published_ones() -> None:
    assert SCENARIOS == ("none", "amount_inflation", "new_fraud_pattern", "category_shift")


def test_default_onset_is_sixty_percent_into_the_range() -> None:
    config = SimulationConfig(scenario="amount_inflation", days=90)
    assert config.resolved_onset_day == 54
    assert config.onset_date == datetime.date(2026, 2, 24)
    explicit = dataclasses.replace(config, onset_day=10)
    assert explicit.onset_date == datetime.date(2026, 1, 11)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimulationConfig().days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days": 0}, "days"),
        ({"customers": 0}, "customers"),
        ({"merchants": -1}, "merchants"),
        ({"scenario": "meteor_strike"}, "scenario"),
        ({"scenario": "category_shift", "onset_day": 10}, "onset_day"),
        ({"onset_day": -1}, "onset_day"),
        ({"file_format": "json"}, "file_format"),
        ({"seed": -5}, "seed"),
    ],
)
def test_invalid_config_raises_clear_value_error(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    config = dataclasses.replace(SimulationConfig(days=10, customers=10, merchants=10), **changes)
    with pytest.raises(ValueError, match=message):
        simulate(config, tmp_path / "out", tmp_path / "truth", progress=False)
    assert not (tmp_path / "out").exists()


def test_tiny_config_still_works(tmp_path: Path) -> None:
    config = SimulationConfig(days=2, customers=1, merchants=1, seed=1)
    summary = simulate(config, tmp_path / "out", tmp_path / "truth", progress=False)
    assert len(summary.files) == 6
    assert summary.customers >= 1


@pytest.mark.parametrize("defect_rate", [-0.01, 0.051, 1.0, float("nan"), "0.01", True])
def test_defect_rate_must_be_a_number_within_five_percent(
    tmp_path: Path, defect_rate: object
) -> None:
    config = SimulationConfig(days=2, customers=10, merchants=10, defect_rate=defect_rate)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"defect_rate"):
        simulate(config, tmp_path / "out", tmp_path / "truth", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("defect_rate", [0, 0.0, 0.0005, 0.05])
def test_defect_rate_bounds_are_accepted(tmp_path: Path, defect_rate: float) -> None:
    config = SimulationConfig(days=2, customers=10, merchants=10, defect_rate=defect_rate)
    summary = simulate(config, tmp_path / "out", tmp_path / "truth", progress=False)
    assert summary.defective_transactions <= summary.transactions
