"""Bare LightGBM: ``lgb.train`` and ``Booster.predict`` on prepared numpy matrices, nothing else.

What the project's training step (``train_model`` + MLflow logging) and batch scoring (retrieval,
model matrix, predict, write) are compared with: the library call alone, on the same rows with
the same parameters.
"""

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np


def datasets(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    feature_names: Sequence[str],
    categorical: Sequence[str],
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """Train and validation datasets (lazy: LightGBM bins them inside ``lgb.train``)."""
    train = lgb.Dataset(
        x,
        label=y,
        weight=weights,
        feature_name=list(feature_names),
        categorical_feature=list(categorical),
        free_raw_data=True,
    )
    valid = lgb.Dataset(x_valid, label=y_valid, reference=train)
    return train, valid


def train(
    params: dict[str, Any],
    train_set: lgb.Dataset,
    valid_set: lgb.Dataset,
    rounds: int,
    patience: int,
) -> lgb.Booster:
    """``lgb.train`` with early stopping on the validation set's first metric."""
    return lgb.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
    )
