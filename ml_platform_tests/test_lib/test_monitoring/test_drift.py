"""Drift statistics against the training reference: PSI, KS, JS, per-feature verdicts."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from ml_platform.lib.monitoring.drift import (
    DRIFT_SCHEMA,
    DriftThresholds,
    FeatureDrift,
    drift_frame,
    drift_summary,
    feature_drift,
    jensen_shannon_distance,
    ks_statistic,
    population_stability_index,
)
from ml_platform.lib.training.reference import numeric_reference, reference_distribution

ROWS = 4_000
CHANNEL_MIX = [0.6, 0.3, 0.1]


def _frame(seed: int, rows: int = ROWS, mix: list[float] = CHANNEL_MIX) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.8, size=rows)
    amount[rng.random(rows) < 0.05] = np.nan
    channel = rng.choice(len(mix), size=rows, p=mix).astype(np.float64)
    return pd.DataFrame({"amount": amount, "channel_code": channel})


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return _frame(seed=1)


@pytest.fixture(scope="module")
def reference(training: pd.DataFrame) -> dict:
    reference = reference_distribution(training)  # channel_code is categorical by default
    reference["score"] = numeric_reference(np.random.default_rng(2).beta(1, 20, size=ROWS))
    return reference


IMPORTANCE = {"amount": 0.7, "channel_code": 0.3}


def _by_name(results: list[FeatureDrift]) -> dict[str, FeatureDrift]:
    return {r.feature: r for r in results}


# --- the statistics -------------------------------------------------------------------------


def test_psi_by_hand() -> None:
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert expected == pytest.approx(0.25 * math.log(3))


def test_psi_of_identical_shares_is_zero() -> None:
    assert population_stability_index([0.1, 0.2, 0.7], [0.1, 0.2, 0.7]) == 0.0


def test_psi_clips_an_empty_bin_at_epsilon_without_renormalising() -> None:
    psi = population_stability_index([0.5, 0.5, 0.0], [0.5, 0.25, 0.25], epsilon=1e-4)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    assert psi == pytest.approx(expected)
    assert math.isfinite(population_stability_index([1.0, 0.0], [0.0, 1.0]))


def test_psi_needs_aligned_bins() -> None:
    with pytest.raises(ValueError, match="aligned"):
        population_stability_index([0.5, 0.5], [1.0])


def test_ks_of_a_known_shift() -> None:
    spec = numeric_reference(np.arange(100, dtype=float))
    # reference share <= v is (v + 1) / 100; shifted by 10, the current one is (v - 9) / 100
    assert ks_statistic(spec, np.arange(100, dtype=float) + 10) == pytest.approx(0.1)
    assert ks_statistic(spec, np.arange(100, dtype=float)) == 0.0
    assert ks_statistic(spec, np.r_[np.arange(100, dtype=float), [np.nan] * 50]) == 0.0
    assert ks_statistic(spec, np.full(10, 1_000.0)) == pytest.approx(1.0)


def test_ks_is_zero_when_a_side_is_empty() -> None:
    spec = numeric_reference(np.arange(10, dtype=float))
    assert ks_statistic(spec, np.array([np.nan, np.nan])) == 0.0
    assert ks_statistic(numeric_reference(np.array([np.nan])), np.arange(5.0)) == 0.0


def test_js_distance() -> None:
    assert jensen_shannon_distance({"a": 0.3, "b": 0.7}, {"b": 0.7, "a": 0.3}) == 0.0
    assert jensen_shannon_distance({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)
    # P = (1, 0), Q = (.5, .5), M = (.75, .25)
    kl_p = math.log2(1 / 0.75)
    kl_q = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    expected = math.sqrt((kl_p + kl_q) / 2)
    assert jensen_shannon_distance({"a": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(expected)
    assert jensen_shannon_distance({"a": 1.0}, {"a": 0.0}) == 0.0  # no current mass


# --- per-feature verdicts -------------------------------------------------------------------


def test_same_data_drifts_nowhere(training: pd.DataFrame, reference: dict) -> None:
    scores = np.random.default_rng(2).beta(1, 20, size=ROWS)
    results = feature_drift(reference, training, scores, IMPORTANCE)
    assert {r.feature for r in results} == {"amount", "channel_code", "score"}
    assert not any(r.drifted for r in results)
    assert all(r.judged and r.reason == "" for r in results)
    found = _by_name(results)
    assert found["amount"].psi == pytest.approx(0.0, abs=1e-12)
    assert found["amount"].ks == 0.0 and found["amount"].js_distance is None
    assert found["amount"].current_null_share == found["amount"].reference_null_share > 0
    assert found["channel_code"].js_distance == pytest.approx(0.0, abs=1e-7)
    assert found["channel_code"].ks is None
    assert found["score"].kind == "score" and found["score"].importance == 0.0
    assert found["amount"].importance == 0.7 and found["amount"].rows == ROWS


def test_a_fresh_sample_of_the_same_population_is_not_drift(reference: dict) -> None:
    results = feature_drift(reference, _frame(seed=9), None, IMPORTANCE)
    assert not any(r.drifted for r in results)
    assert {r.feature for r in results} == {"amount", "channel_code"}  # no scores given


def test_shifted_numeric_feature_drifts(reference: dict) -> None:
    current = _frame(seed=9)
    current["amount"] *= 1.5
    found = _by_name(feature_drift(reference, current, None, IMPORTANCE))
    assert found["amount"].drifted and found["amount"].judged
    assert "PSI" in found["amount"].reason or "KS" in found["amount"].reason
    assert found["amount"].psi >= 0.1
    assert not found["channel_code"].drifted


def test_changed_category_mix_drifts(reference: dict) -> None:
    current = _frame(seed=9, mix=[0.2, 0.3, 0.5])
    found = _by_name(feature_drift(reference, current, None, IMPORTANCE))
    drift = found["channel_code"]
    assert drift.kind == "categorical" and drift.drifted
    assert drift.js_distance is not None and drift.js_distance >= 0.1
    assert drift.reason.startswith("JS ") and drift.psi > 0.1
    assert not found["amount"].drifted


def test_a_new_category_counts(reference: dict) -> None:
    current = _frame(seed=9)
    current.loc[: ROWS // 2, "channel_code"] = 7.0  # never seen in training
    drift = _by_name(feature_drift(reference, current, None, IMPORTANCE))["channel_code"]
    assert drift.drifted and drift.js_distance > 0.5


def test_score_drift_is_judged_by_score_psi(reference: dict, training: pd.DataFrame) -> None:
    scores = np.random.default_rng(3).beta(2, 10, size=ROWS)  # much higher scores
    results = feature_drift(reference, training, scores, IMPORTANCE)
    assert results[0].feature == "score" and results[0].drifted
    assert results[0].reason.startswith("PSI ")
    relaxed = DriftThresholds(score_psi=100.0)
    score = _by_name(feature_drift(reference, training, scores, IMPORTANCE, relaxed))["score"]
    assert not score.drifted and score.judged
    without = {k: v for k, v in reference.items() if k != "score"}
    assert "score" not in _by_name(feature_drift(without, training, scores, IMPORTANCE))


def test_too_few_rows_are_not_judged(reference: dict) -> None:
    current = _frame(seed=9, rows=50)
    current["amount"] *= 3
    results = feature_drift(reference, current, np.full(50, 0.9), IMPORTANCE)
    assert all(not r.judged and not r.drifted for r in results)
    assert all(r.reason == "too few rows (50 < 200)" for r in results)
    assert _by_name(results)["amount"].psi > 0.1  # computed all the same
    assert drift_summary(results)["features"] == 0


def test_a_feature_without_current_values_is_not_judged(reference: dict) -> None:
    current = _frame(seed=9)
    current["amount"] = np.nan
    drift = _by_name(feature_drift(reference, current, None, IMPORTANCE))["amount"]
    assert not drift.judged and not drift.drifted
    assert drift.reason == "no non-null current values"
    assert drift.current_null_share == 1.0 and drift.psi == 0.0 and drift.ks == 0.0


def test_ordering_is_drifted_then_psi_then_name() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(size=ROWS)
    training = pd.DataFrame({"b": base, "a": base, "c": base, "d": base})
    reference = reference_distribution(training, categorical=())
    current = pd.DataFrame({"b": base, "a": base, "c": base * 1.3, "d": base + 2})
    names = [r.feature for r in feature_drift(reference, current, None, {})]
    assert names == ["d", "c", "a", "b"]  # d drifts most; a and b tie at 0, by name


def test_a_dict_of_arrays_works_like_a_frame(reference: dict, training: pd.DataFrame) -> None:
    arrays = {name: training[name].to_numpy() for name in training.columns}
    assert feature_drift(reference, arrays, None, IMPORTANCE) == feature_drift(
        reference, training, None, IMPORTANCE
    )


def test_missing_features_are_named(reference: dict, training: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="channel_code"):
        feature_drift(reference, training[["amount"]], None, IMPORTANCE)


# --- summary and frame ----------------------------------------------------------------------


def test_drift_summary(reference: dict) -> None:
    current = _frame(seed=9, mix=[0.2, 0.3, 0.5])
    current["amount"] *= 1.5
    scores = np.random.default_rng(2).beta(1, 20, size=ROWS)
    results = feature_drift(reference, current, scores, IMPORTANCE)
    summary = drift_summary(results)
    worst = max((r for r in results if r.kind != "score"), key=lambda r: r.psi)
    assert summary == {
        "features": 2,
        "drifted_features": [r.feature for r in results if r.kind != "score"],
        "worst_feature": worst.feature,
        "worst_psi": worst.psi,
        "score_psi": _by_name(results)["score"].psi,
        "score_drifted": False,
    }
    assert drift_summary([])["score_psi"] is None and drift_summary([])["worst_feature"] is None


def test_drift_frame_has_stable_dtypes(reference: dict, training: pd.DataFrame) -> None:
    results = feature_drift(reference, training, None, IMPORTANCE)
    categorical = [r for r in results if r.kind == "categorical"]  # ks all null
    frame = drift_frame(categorical, dt.date(2024, 3, 1), "7")
    assert frame.schema == DRIFT_SCHEMA
    assert frame["ks"].dtype == pl.Float64 and frame["ks"].null_count() == 1
    assert frame["event_date"].to_list() == [dt.date(2024, 3, 1)]
    assert frame["model_version"].to_list() == ["7"]
    assert frame["rows"].dtype == pl.Int64
    full = drift_frame(results, dt.date(2024, 3, 1), "7")
    assert full["feature"].to_list() == [r.feature for r in results]
    assert full["js_distance"].null_count() == 1
    assert drift_frame([], dt.date(2024, 3, 1), "7").schema == DRIFT_SCHEMA
