"""The reference distribution: quantile bins, CDF, category shares, null shares, JSON round trip."""

import json

import numpy as np
import pandas as pd
import pytest

from ml_platform.lib.training import evaluation
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.matrix import MODEL_FEATURES, model_matrix
from ml_platform.lib.training.reference import (
    REFERENCE_FORMAT,
    feature_proportions,
    load_reference,
    numeric_reference,
    reference_distribution,
    save_reference,
)


def test_numeric_feature_gets_decile_edges_and_equal_shares() -> None:
    values = np.r_[np.arange(100, dtype=float), [np.nan] * 25]
    reference = reference_distribution(pd.DataFrame({"x": values}), categorical=())
    spec = reference["features"]["x"]
    assert spec["type"] == "numeric"
    assert spec["null_share"] == pytest.approx(0.2)
    assert spec["edges"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    assert spec["proportions"] == pytest.approx([0.1] * 10)
    assert reference["rows"] == 125
    assert reference["format"] == REFERENCE_FORMAT == 2
    # the 101 percentiles give the 100 values 0 .. 99 (method="higher": percentiles 99 and 100
    # both give 99); the share <= 0 is 1 of 100 non-null values
    assert spec["cdf"]["values"] == [float(v) for v in range(100)]
    assert spec["cdf"]["shares"][-1] == 1.0
    assert spec["cdf"]["shares"][0] == pytest.approx(0.01)


def test_ties_merge_bins() -> None:
    values = np.r_[np.zeros(90), np.ones(10)]
    spec = reference_distribution(pd.DataFrame({"x": values}), categorical=())["features"]["x"]
    assert spec["edges"] == [0.0, 1.0]  # bins (-inf, 0), [0, 1), [1, inf)
    assert spec["proportions"] == pytest.approx([0.0, 0.9, 0.1])


def test_categorical_feature_gets_category_shares() -> None:
    values = [0.0, 1.0, 1.0, 2.0, np.nan]
    spec = reference_distribution(pd.DataFrame({"c": values}), categorical=("c",))["features"]["c"]
    assert spec == {
        "type": "categorical",
        "null_share": pytest.approx(0.2),
        "proportions": {"0": 0.25, "1": 0.5, "2": 0.25},
    }


def test_all_null_feature() -> None:
    spec = reference_distribution(pd.DataFrame({"x": [np.nan, np.nan]}), categorical=())
    assert spec["features"]["x"] == {
        "type": "numeric",
        "null_share": 1.0,
        "edges": [],
        "proportions": [],
        "cdf": {"values": [], "shares": []},
    }


def test_cdf_is_exact_at_the_distinct_percentiles() -> None:
    values = np.r_[np.zeros(60), np.ones(30), np.full(10, 5.0), [np.nan] * 7]
    spec = reference_distribution(pd.DataFrame({"x": values}), categorical=())["features"]["x"]
    assert spec["cdf"] == {"values": [0.0, 1.0, 5.0], "shares": [0.6, 0.9, 1.0]}


def test_cdf_matches_the_empirical_cdf_of_random_values() -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=1_003)
    cdf = numeric_reference(values)["cdf"]
    points = np.asarray(cdf["values"])
    assert len(points) == 101  # continuous values: every percentile distinct
    assert np.all(np.diff(points) > 0)
    assert points[0] == values.min() and points[-1] == values.max()
    expected = [(values <= v).mean() for v in points]
    assert cdf["shares"] == expected  # exact, not approximate
    assert np.all(np.diff(cdf["shares"]) > 0) and cdf["shares"][-1] == 1.0


def test_numeric_reference_is_the_numeric_spec_of_reference_distribution() -> None:
    rng = np.random.default_rng(3)
    scores = np.r_[rng.beta(1, 20, size=500), [np.nan]]
    from_frame = reference_distribution(pd.DataFrame({"s": scores}), categorical=())
    assert numeric_reference(scores) == from_frame["features"]["s"]
    assert numeric_reference(scores, bins=4)["proportions"] == pytest.approx([0.25] * 4, abs=0.01)
    empty = numeric_reference(np.array([]))
    assert empty["cdf"] == {"values": [], "shares": []} and empty["null_share"] == 0.0


@pytest.mark.parametrize("decimals", [0, 1, 3])  # many ties ... almost none
def test_the_references_own_values_binned_again_give_its_proportions(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    values = rng.gamma(2.0, 10.0, size=5_001).round(decimals)
    values[rng.random(values.size) < 0.05] = np.nan
    spec = numeric_reference(values)
    assert len(spec["edges"]) > 3
    assert feature_proportions(spec, values) == {
        "null_share": spec["null_share"],
        "proportions": spec["proportions"],
    }


def test_new_values_are_binned_like_the_reference() -> None:
    reference = reference_distribution(
        pd.DataFrame({"x": np.arange(100, dtype=float), "c": [0.0, 1.0] * 50}),
        categorical=("c",),
    )
    shifted = feature_proportions(reference["features"]["x"], np.r_[np.full(50, 95.0), [np.nan]])
    assert shifted["proportions"] == pytest.approx([0.0] * 9 + [1.0])
    assert shifted["null_share"] == pytest.approx(1 / 51)
    new_category = feature_proportions(reference["features"]["c"], np.array([1.0, 2.0]))
    assert new_category["proportions"] == {"0": 0.0, "1": 0.5, "2": 0.5}


def test_reference_of_the_training_matrix_round_trips_through_json(
    training_set: TrainingSet, tmp_path
) -> None:
    reference = reference_distribution(model_matrix(training_set.split("train")))
    assert list(reference["features"]) == list(MODEL_FEATURES)
    for spec in reference["features"].values():
        shares = spec["proportions"]
        total = sum(shares.values()) if isinstance(shares, dict) else sum(shares)
        assert total == pytest.approx(1.0) or (spec["null_share"] == 1.0 and total == 0)
        if spec["type"] == "numeric" and spec["null_share"] < 1.0:
            assert spec["cdf"]["shares"][-1] == 1.0
            assert spec["cdf"]["values"] == sorted(set(spec["cdf"]["values"]))
    path = save_reference(reference, tmp_path / "reference.json")
    assert load_reference(path) == json.loads(json.dumps(reference))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a reference"):
        load_reference(tmp_path / "other.json")
    (tmp_path / "format1.json").write_text(json.dumps({**reference, "format": 1}))
    with pytest.raises(ValueError, match="not a reference"):
        load_reference(tmp_path / "format1.json")


def test_the_monitoring_reference_describes_a_fixed_sample_of_a_large_held_out_set(
    training_set: TrainingSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    validation, test = training_set.split("validation"), training_set.split("test")
    rows = validation.height + test.height
    # Scores that equal a feature: the sample must keep each row's score with its features.
    scores = {
        name: frame.get_column("amount").to_numpy()
        for name, frame in (("validation", validation), ("test", test))
    }
    whole = evaluation.monitoring_reference(validation, test, scores)
    assert whole["rows"] == rows and whole["population"] == "validation+test"

    cap = rows // 3
    monkeypatch.setattr(evaluation, "REFERENCE_SAMPLE_ROWS", cap)
    sampled = evaluation.monitoring_reference(validation, test, scores)
    assert sampled["rows"] == cap
    assert sampled["population"] == f"validation+test (uniform sample of {cap:,} of {rows:,} rows)"
    assert evaluation.monitoring_reference(validation, test, scores) == sampled  # fixed seed
    for reference in (whole, sampled):
        assert reference["score"] == reference["features"]["amount"]
    # A uniform sample: its deciles are the whole set's, closely.
    assert len(sampled["score"]["edges"]) == len(whole["score"]["edges"]) == 9
    assert np.allclose(sampled["score"]["edges"], whole["score"]["edges"], rtol=0.1)
