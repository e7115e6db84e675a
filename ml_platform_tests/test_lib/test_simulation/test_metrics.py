from __future__ import annotations

import numpy as np
import pytest

from ml_platform.lib.simulation import roc_auc
from ml_platform.lib.simulation.metrics import average_ranks


def _pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def test_perfect_reversed_and_uninformative_scores() -> None:
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = labels * 1.0
    assert roc_auc(scores, labels) == 1.0
    assert roc_auc(-scores, labels) == 0.0
    assert roc_auc(np.zeros(6), labels) == 0.5


def test_matches_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 20, size=400).astype(float)
    labels = rng.random(400) < 0.2 + scores / 40
    assert roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels), abs=1e-12)


def test_average_ranks_share_ties() -> None:
    assert average_ranks(np.array([10.0, 20.0, 10.0, 5.0])).tolist() == [2.5, 4.0, 2.5, 1.0]


@pytest.mark.parametrize("labels", [np.zeros(4, dtype=bool), np.ones(4, dtype=bool)])
def test_single_class_is_an_error(labels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="positive and one negative"):
        roc_auc(np.arange(4.0), labels)
