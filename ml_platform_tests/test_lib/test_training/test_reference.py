"""The reference distribution: quantile bins, category shares, null shares, JSON round trip."""

import json

import numpy as np
import pandas as pd
import pytest

from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.matrix import MODEL_FEATURES, model_matrix
from ml_platform.lib.training.reference import (
    feature_proportions,
    load_reference,
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
    path = save_reference(reference, tmp_path / "reference.json")
    assert load_reference(path) == json.loads(json.dumps(reference))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a reference"):
        load_reference(tmp_path / "other.json")
