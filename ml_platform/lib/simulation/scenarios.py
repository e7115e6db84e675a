"""Drift scenarios: how each day's generation parameters depart from the baseline."""

from __future__ import annotations

from dataclasses import dataclass

from ml_platform.lib.simulation.config import SimulationConfig

RAMP_DAYS = 7  # days over which a gradual scenario reaches full strength
AMOUNT_INFLATION = 0.6  # amounts reach 1 + this times the baseline
CATEGORY_SHIFT_WEIGHT = 0.75  # share of spending that moves to the shift categories
NEW_PATTERN_COMPROMISE_MULTIPLIER = 2.5  # compromises become this much more frequent
NEW_PATTERN_SHARE = 0.85  # share of new episodes that follow the new pattern


@dataclass(frozen=True)
class DayEffects:
    """Scenario parameters for one day; the defaults are the baseline (no drift).

    Attributes:
        amount_factor: Multiplier of every transaction amount.
        category_shift: Weight in [0, 1] of the shift category mix in customers' spending.
        compromise_multiplier: Multiplier of the daily card-compromise probability.
        new_pattern_share: Share of new fraud episodes following the new pattern.
    """

    amount_factor: float = 1.0
    category_shift: float = 0.0
    compromise_multiplier: float = 1.0
    new_pattern_share: float = 0.0


BASELINE = DayEffects()


def effects_for_day(config: SimulationConfig, day: int) -> DayEffects:
    """Return the scenario parameters of a day.

    Days before the onset (and every day of the ``none`` scenario) get the baseline, so
    they are identical to a ``none`` run with the same seed.

    Args:
        config: The simulation config (scenario and onset).
        day: 0-based day index.

    Returns:
        The day's parameters.
    """
    onset = config.resolved_onset_day
    if onset is None or day < onset:
        return BASELINE
    ramp = min(1.0, (day - onset + 1) / RAMP_DAYS)
    if config.scenario == "amount_inflation":
        return DayEffects(amount_factor=1.0 + AMOUNT_INFLATION * ramp)
    if config.scenario == "category_shift":
        return DayEffects(category_shift=CATEGORY_SHIFT_WEIGHT * ramp)
    if config.scenario == "new_fraud_pattern":
        return DayEffects(
            compromise_multiplier=NEW_PATTERN_COMPROMISE_MULTIPLIER,
            new_pattern_share=NEW_PATTERN_SHARE,
        )
    return BASELINE
