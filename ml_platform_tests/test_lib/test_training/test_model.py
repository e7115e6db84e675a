"""LightGBM training: deterministic, early-stopped, imbalance handled, good enough."""

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.training.dataset import LABEL, TrainingSet
from ml_platform.lib.training.metrics import roc_auc
from ml_platform.lib.training.model import (
    MAX_ROUNDS,
    NEGATIVES_PER_POSITIVE,
    PARAMS,
    TrainedModel,
    negative_sample,
    score,
    train_model,
)
from ml_platform_tests.test_lib.test_training.conftest import SEED, SimulatedLake


def test_training_twice_gives_identical_predictions(
    training_set: TrainingSet, trained: TrainedModel
) -> None:
    again = train_model(training_set.split("train"), training_set.split("validation"), SEED)
    test = training_set.split("test")
    assert again.best_iteration == trained.best_iteration
    assert np.array_equal(score(again.booster, test), score(trained.booster, test))
    assert again.booster.model_to_string() == trained.booster.model_to_string()


def test_model_is_cut_at_the_best_iteration(trained: TrainedModel) -> None:
    assert 1 <= trained.best_iteration < MAX_ROUNDS
    assert trained.booster.num_trees() == trained.best_iteration
    assert trained.params["seed"] == SEED
    assert trained.params["num_threads"] == PARAMS["num_threads"] == 2
    assert trained.params["deterministic"] is True
    assert trained.train_seconds > 0


def test_negative_sampling_keeps_every_fraud_and_reweights_the_rest() -> None:
    labels = np.r_[np.ones(100, dtype=int), np.zeros(99_900, dtype=int)]
    keep, weights, rate = negative_sample(labels, seed=1)
    assert rate == pytest.approx(NEGATIVES_PER_POSITIVE * 100 / 99_900)
    assert keep[:100].all()
    kept_negatives = int(keep[100:].sum())
    assert kept_negatives == pytest.approx(2_500, rel=0.1)
    # The weighted sample stands for the whole population.
    assert weights.sum() == pytest.approx(labels.size, rel=0.1)
    assert (weights[:100] == 1.0).all()
    again = negative_sample(labels, seed=1)
    assert np.array_equal(again[0], keep)
    assert negative_sample(np.array([1, 0, 0]), seed=1)[2] == 1.0  # few negatives: keep all


def test_scores_are_calibrated_probabilities(
    training_set: TrainingSet, trained: TrainedModel
) -> None:
    test = training_set.split("test")
    scores = score(trained.booster, test)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores.mean() == pytest.approx(test[LABEL].mean(), rel=0.35)


def test_a_split_without_fraud_is_an_error(training_set: TrainingSet) -> None:
    train = training_set.split("train").with_columns(pl.lit(0).alias(LABEL))
    with pytest.raises(ValueError, match="train split needs fraud"):
        train_model(train, training_set.split("validation"), SEED)


def test_scoring_no_rows(training_set: TrainingSet, trained: TrainedModel) -> None:
    assert score(trained.booster, training_set.frame.head(0)).shape == (0,)


def test_test_roc_auc_reaches_ninety_percent_of_the_oracle(
    simulated: SimulatedLake, training_set: TrainingSet, trained: TrainedModel
) -> None:
    test = training_set.split("test")
    auc = roc_auc(test[LABEL].to_numpy(), score(trained.booster, test))
    assert auc >= 0.9 * simulated.oracle_roc_auc, (auc, simulated.oracle_roc_auc)


def test_the_weakened_model_has_no_signal(training_set: TrainingSet, weak: TrainedModel) -> None:
    test = training_set.split("test")
    assert roc_auc(test[LABEL].to_numpy(), score(weak.booster, test)) < 0.7
