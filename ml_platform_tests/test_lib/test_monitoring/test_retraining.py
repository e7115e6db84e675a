"""When evidence turns into retraining requests: episodes, cooldown, determinism."""

import datetime as dt
import itertools

import polars as pl
import pytest

from ml_platform.lib.monitoring.retraining import (
    DRIFT,
    PERFORMANCE,
    Evidence,
    drift_evidence,
    performance_evidence,
    plan_retraining,
)

D0 = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def drift(n: int, version: str = "1") -> Evidence:
    return Evidence(day(n), DRIFT, version, f"drift on day {n}")


def test_one_drift_episode_requests_one_retrain() -> None:
    requests = plan_retraining([drift(n) for n in range(0, 20)], cooldown_days=7)
    assert [r.run_key for r in requests] == ["retrain:drift:v1:2026-03-01"]
    assert requests[0].tags["ml_platform/retrain_reason"] == "drift on day 0"
    assert requests[0].tags["ml_platform/champion_version"] == "1"


def test_a_kept_champion_is_not_retrained_again_on_the_same_evidence() -> None:
    # The retrain kept v1: drift against v1 continues, still the same episode.
    evidence = [drift(n) for n in range(0, 30)]
    assert len(plan_retraining(evidence, cooldown_days=7)) == 1


def test_a_new_champion_starts_a_new_episode_after_the_cooldown() -> None:
    evidence = [drift(n, "1") for n in range(0, 3)] + [drift(n, "2") for n in range(3, 12)]
    requests = plan_retraining(evidence, cooldown_days=7)
    assert [(r.evidence.day, r.episode_start) for r in requests] == [
        (day(0), day(0)),
        (day(7), day(3)),  # v2's episode started inside the cooldown: requested when it ends
    ]


def test_quiet_days_end_an_episode() -> None:
    evidence = [drift(0), drift(1), drift(10), drift(11)]
    requests = plan_retraining(evidence, cooldown_days=7)
    assert [r.episode_start for r in requests] == [day(0), day(10)]


def test_a_short_gap_does_not_end_an_episode() -> None:
    assert len(plan_retraining([drift(0), drift(3), drift(6), drift(9)], cooldown_days=7)) == 1


@pytest.mark.parametrize("cooldown", [0, 3, 30])
def test_requests_are_at_least_the_cooldown_apart(cooldown: int) -> None:
    evidence = [drift(n, str(n)) for n in range(40)]  # a new model version every day
    requests = plan_retraining(evidence, cooldown_days=cooldown)
    days = [r.evidence.day for r in requests]
    assert all((b - a).days >= cooldown for a, b in itertools.pairwise(days))
    assert len(requests) == (40 if cooldown == 0 else -(-40 // cooldown))


def test_the_plan_is_deterministic_whatever_the_order() -> None:
    evidence = [drift(n, "1") for n in range(5)] + [Evidence(day(3), PERFORMANCE, "1", "auc down")]
    forward = plan_retraining(evidence, 2)
    backward = plan_retraining(list(reversed(evidence)), 2)
    assert forward == backward


def _drift_rows(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "event_date": pl.Date,
            "model_version": pl.String,
            "feature": pl.String,
            "kind": pl.String,
            "psi": pl.Float64,
            "importance": pl.Float64,
            "drifted": pl.Boolean,
            "judged": pl.Boolean,
            "reason": pl.String,
        },
        orient="row",
    )


def test_only_drift_that_matters_to_the_model_is_evidence() -> None:
    rows = _drift_rows(
        [
            (day(0), "1", "amount", "numeric", 0.3, 0.20, True, True, "PSI 0.3 >= 0.1"),
            (day(1), "1", "rare", "numeric", 0.9, 0.001, True, True, "PSI 0.9 >= 0.1"),
            (day(2), "1", "amount", "numeric", 0.5, 0.20, True, False, "in training window"),
            (day(3), "1", "score", "score", 0.2, 0.0, True, True, "PSI 0.2 >= 0.1"),
            (day(4), "1", "amount", "numeric", 0.05, 0.20, False, True, ""),
        ]
    )
    evidence = drift_evidence(rows, min_importance=0.01)
    assert [e.day for e in evidence] == [day(0), day(3)]
    assert "amount (PSI 0.3 >= 0.1, 20% of gain)" in evidence[0].detail
    assert "score (PSI 0.2 >= 0.1)" in evidence[1].detail


def test_degraded_performance_is_evidence() -> None:
    rows = pl.DataFrame(
        {
            "report_date": [day(0), day(1)],
            "cohort_date": [day(-30), day(-29)],
            "window_start": [day(-36), day(-35)],
            "model_version": ["1", "1"],
            "window_roc_auc": [0.91, 0.85],
            "validation_roc_auc": [0.92, 0.92],
            "margin": [0.03, 0.03],
            "degraded": [False, True],
        }
    )
    (evidence,) = performance_evidence(rows)
    assert evidence.day == day(1) and evidence.kind == PERFORMANCE
    assert "0.8500" in evidence.detail and "0.9200" in evidence.detail
