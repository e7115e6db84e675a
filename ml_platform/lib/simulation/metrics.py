"""Evaluation metrics implemented with numpy only."""

from __future__ import annotations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Return 1-based ranks of ``values``, ties sharing their average rank.

    Args:
        values: 1-d array of numbers.

    Returns:
        Float ranks, same shape as ``values``.
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    is_new = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(is_new) - 1
    first = np.flatnonzero(is_new)
    last = np.concatenate([first[1:], [len(values)]]) - 1
    mean_rank = (first + last) / 2.0 + 1.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC of ``scores`` for binary ``labels`` (Mann-Whitney U with tie correction).

    Args:
        scores: Higher means more likely positive.
        labels: Booleans or 0/1.

    Returns:
        The area under the ROC curve.

    Raises:
        ValueError: If the inputs differ in length or one class is missing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError("scores and labels must be 1-d arrays of the same length")
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("roc_auc needs at least one positive and one negative label")
    rank_sum = average_ranks(scores)[labels].sum()
    u_statistic = rank_sum - positives * (positives + 1) / 2.0
    return float(u_statistic / (positives * negatives))
