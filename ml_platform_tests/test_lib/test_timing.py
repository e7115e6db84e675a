"""Phases: seconds per named phase, in order, repeated names added up."""

import pytest

from ml_platform.lib import timing
from ml_platform.lib.timing import Phases


def test_laps_measure_the_time_since_the_previous_lap_and_add_up_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter([10.0, 10.5, 10.75, 12.0])  # start, then one reading per lap
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    phases = Phases()
    phases.lap("read")
    phases.lap("score")
    phases.lap("read")

    assert phases.seconds == {"read": 0.5 + 1.25, "score": 0.25}
    assert list(phases.seconds) == ["read", "score"]  # first-lap order
    assert phases.summary() == "read 1.75 s, score 0.25 s"
