"""Configuration of a simulation run and its validation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

SCENARIOS: tuple[str, ...] = ("none", "amount_inflation", "new_fraud_pattern", "category_shift")
FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")
# Highest share of malformed landing rows a run may ask for.
MAX_DEFECT_RATE = 0.05

# Share of the date range after which a scenario starts when no onset day is given.
DEFAULT_ONSET_FRACTION = 0.6


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    Attributes:
        start: First simulated day (UTC).
        days: Number of simulated days.
        customers: Customers who signed up before ``start``; a few more sign up every day.
        merchants: Number of merchants.
        seed: Seed of every random draw; the same config always gives the same files.
        scenario: Drift scenario, one of ``SCENARIOS``.
        onset_day: 0-based day index on which the scenario starts; by default 60 % into
            the range. Ignored for the ``none`` scenario.
        file_format: Landing file format, ``csv`` or ``parquet``.
        defect_rate: Share of transaction and chargeback rows written malformed on purpose
            (so the ingestion quarantine has real content), at most ``MAX_DEFECT_RATE``;
            0 writes only valid rows. See ``defects``.
    """

    start: datetime.date = datetime.date(2026, 1, 1)
    days: int = 90
    customers: int = 12_000
    merchants: int = 1_500
    seed: int = 42
    scenario: str = "none"
    onset_day: int | None = None
    file_format: str = "csv"
    defect_rate: float = 0.0

    @property
    def end(self) -> datetime.date:
        """Last simulated day (inclusive)."""
        return self.start + datetime.timedelta(days=self.days - 1)

    @property
    def resolved_onset_day(self) -> int | None:
        """Day index on which the scenario starts, or None for the ``none`` scenario."""
        if self.scenario == "none":
            return None
        if self.onset_day is not None:
            return self.onset_day
        return int(self.days * DEFAULT_ONSET_FRACTION)

    @property
    def onset_date(self) -> datetime.date | None:
        """Date on which the scenario starts, or None for the ``none`` scenario."""
        onset = self.resolved_onset_day
        return None if onset is None else self.start + datetime.timedelta(days=onset)

    def date_of(self, day: int) -> datetime.date:
        """Return the calendar date of day index ``day``."""
        return self.start + datetime.timedelta(days=day)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_config(config: SimulationConfig) -> None:
    """Check a config and raise ``ValueError`` naming every problem found.

    Args:
        config: The config to check.

    Raises:
        ValueError: If any field is out of range or unknown.
    """
    problems: list[str] = []
    if not isinstance(config.start, datetime.date) or isinstance(config.start, datetime.datetime):
        problems.append(f"start must be a datetime.date, got {config.start!r}")
    for name, minimum in (("days", 1), ("customers", 1), ("merchants", 1)):
        value = getattr(config, name)
        if not _is_int(value) or value < minimum:
            problems.append(f"{name} must be an integer >= {minimum}, got {value!r}")
    if not _is_int(config.seed) or config.seed < 0:
        problems.append(f"seed must be a non-negative integer, got {config.seed!r}")
    if config.scenario not in SCENARIOS:
        problems.append(f"unknown scenario {config.scenario!r}; expected one of {SCENARIOS}")
    if config.file_format not in FILE_FORMATS:
        problems.append(
            f"unknown file_format {config.file_format!r}; expected one of {FILE_FORMATS}"
        )
    rate = config.defect_rate
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        problems.append(f"defect_rate must be a number, got {rate!r}")
    elif not 0 <= rate <= MAX_DEFECT_RATE:
        problems.append(f"defect_rate must be within [0, {MAX_DEFECT_RATE}], got {rate!r}")
    if config.onset_day is not None:
        if not _is_int(config.onset_day):
            problems.append(f"onset_day must be an integer or None, got {config.onset_day!r}")
        elif _is_int(config.days) and not 0 <= config.onset_day < config.days:
            problems.append(
                f"onset_day must be within the simulated range [0, {config.days - 1}], "
                f"got {config.onset_day}"
            )
    if problems:
        raise ValueError("invalid SimulationConfig: " + "; ".join(problems))
