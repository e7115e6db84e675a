"""The stored training set read a split at a time gives the in-memory set's rows and model."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.dataset import LABEL, SPLIT_NAMES, TrainingSet
from ml_platform.lib.training.model import TrainedModel, negative_sample, train_model
from ml_platform.lib.training.stored import StoredTrainingSet
from ml_platform_tests.test_lib.test_training.conftest import SEED

TABLE = "ml/training_set"


@pytest.fixture(scope="module")
def stored(
    training_set: TrainingSet, tmp_path_factory: pytest.TempPathFactory
) -> StoredTrainingSet:
    """The set written in two files of shuffled rows: the table's order is not the set's."""
    lake = DeltaLake(str(tmp_path_factory.mktemp("stored") / "lake"))
    frame = training_set.frame.sample(fraction=1.0, shuffle=True, seed=3)
    half = frame.height // 2
    lake.replace(TABLE, frame.slice(half), None)
    version = lake.append(TABLE, frame.head(half))
    assert not lake.read(TABLE).equals(training_set.frame)
    return StoredTrainingSet(lake, TABLE, version, training_set.lineage)


def test_each_split_reads_back_in_the_sets_order(
    stored: StoredTrainingSet, training_set: TrainingSet
) -> None:
    for name in SPLIT_NAMES:
        assert stored.split(name).equals(training_set.split(name))
    held_out = stored.held_out()
    assert held_out.lineage == training_set.lineage
    assert held_out.split("train").is_empty()
    for name in ("validation", "test"):
        assert held_out.split(name).equals(training_set.split(name))
    with pytest.raises(ValueError, match="unknown split"):
        stored.split("holdout")


def test_sampled_train_is_the_sample_train_model_takes(
    stored: StoredTrainingSet, training_set: TrainingSet, trained: TrainedModel
) -> None:
    rows, (keep, weights, rate) = stored.sampled_train(SEED)
    train = training_set.split("train")
    expected = negative_sample(train.get_column(LABEL).to_numpy(), SEED)
    assert np.array_equal(keep, expected[0]) and np.array_equal(weights, expected[1])
    assert rate == expected[2] < 1.0
    assert rows.equals(train.filter(pl.Series(keep)))
    again = train_model(rows, training_set.split("validation"), SEED, sampled=(keep, weights, rate))
    assert again.booster.model_to_string() == trained.booster.model_to_string()
    assert again.train_rows == trained.train_rows == rows.height


def test_a_sample_that_does_not_match_the_rows_is_refused(
    stored: StoredTrainingSet, training_set: TrainingSet
) -> None:
    rows, (keep, weights, rate) = stored.sampled_train(SEED)
    with pytest.raises(ValueError, match="train rows were given"):
        train_model(
            rows.head(rows.height - 1),
            training_set.split("validation"),
            SEED,
            sampled=(keep, weights, rate),
        )


def test_reads_the_recorded_version(stored: StoredTrainingSet, tmp_path: Path) -> None:
    before = stored.split("test")
    stored.lake.append(TABLE, before.head(3))
    assert stored.split("test").equals(before)
    latest = StoredTrainingSet(stored.lake, TABLE, None, stored.lineage)
    assert latest.split("test").height == before.height + 3
