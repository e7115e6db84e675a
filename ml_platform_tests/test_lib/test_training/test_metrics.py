"""Metrics on small hand-built cases with known answers."""

import math

import numpy as np
import pytest

from ml_platform.lib.training.metrics import (
    calibration_error,
    calibration_summary,
    evaluate,
    log_loss,
    pr_auc,
    recall_at_fpr,
    roc_auc,
)


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
        ([0, 1], [0.5, 0.5], 0.5),  # a tie counts half
        ([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], 0.75),
    ],
)
def test_roc_auc(labels, scores, expected) -> None:
    assert roc_auc(labels, scores) == pytest.approx(expected)


def test_pr_auc_is_average_precision() -> None:
    # Ranked: 1 (p=1/1), 0, 1 (p=2/3) -> AP = (1 + 2/3) / 2
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)


def test_recall_at_one_percent_fpr() -> None:
    # 200 negatives scored 0..199; 10 positives: 6 above every negative, 4 in the middle.
    negatives = np.arange(200, dtype=float)
    positives = np.array([300, 301, 302, 303, 304, 305, 100.5, 101.5, 102.5, 103.5])
    labels = np.r_[np.zeros(200), np.ones(10)]
    scores = np.r_[negatives, positives]
    # 1 % of 200 = 2 false positives allowed: thresholds down to 198 -> only the 6 top ones.
    assert recall_at_fpr(labels, scores, 0.01) == pytest.approx(0.6)
    # 50 % FPR: threshold 100 flags negatives 100..199 (100 = 50 %) and all 10 positives.
    assert recall_at_fpr(labels, scores, 0.5) == pytest.approx(1.0)
    assert recall_at_fpr(labels, scores, 0.0) == pytest.approx(0.6)


def test_recall_at_fpr_flags_tied_scores_together() -> None:
    # A positive tied with 5 of 100 negatives cannot be caught at 1 % FPR.
    labels = np.r_[np.zeros(100), [1]]
    scores = np.r_[np.zeros(95), np.ones(5), [1.0]]
    assert recall_at_fpr(labels, scores, 0.01) == 0.0
    assert recall_at_fpr(labels, scores, 0.05) == 1.0


def test_log_loss() -> None:
    assert log_loss([1, 0], [0.8, 0.2]) == pytest.approx(-math.log(0.8))
    assert log_loss([1], [0.0]) == pytest.approx(-math.log(1e-15))  # clipped, finite


def test_calibration_summary_uses_equal_count_bins() -> None:
    scores = np.linspace(0.0, 0.99, 100)
    labels = (np.arange(100) % 10 == 0).astype(int)  # one positive per 10 consecutive scores
    summary = calibration_summary(labels, scores, bins=10)
    assert [b["count"] for b in summary] == [10] * 10
    assert [b["observed_rate"] for b in summary] == [0.1] * 10
    assert summary[0]["mean_score"] == pytest.approx(0.045)
    assert summary[-1]["max_score"] == pytest.approx(0.99)
    assert calibration_error(summary) == pytest.approx(np.mean(np.abs(scores - 0.1)), abs=0.05)
    assert calibration_error(calibration_summary([0, 1], [0.0, 1.0], bins=2)) == 0.0


def test_calibration_summary_with_fewer_rows_than_bins() -> None:
    assert [b["count"] for b in calibration_summary([0, 1, 0], [0.1, 0.9, 0.2])] == [1, 1, 1]


def test_evaluate_reports_every_metric() -> None:
    metrics = evaluate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert set(metrics) == {
        "roc_auc",
        "pr_auc",
        "recall_at_1pct_fpr",
        "log_loss",
        "calibration_error",
        "rows",
        "positives",
        "positive_rate",
    }
    assert metrics["roc_auc"] == 1.0 and metrics["recall_at_1pct_fpr"] == 1.0
    assert metrics["positive_rate"] == 0.5


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 0], [0.1, 0.2], "both classes"),
        ([0, 1], [0.1], "labels but"),
        ([0, 2], [0.1, 0.2], "0 or 1"),
        ([0, 1], [0.1, float("nan")], "NaN"),
    ],
)
def test_bad_input_is_rejected(labels, scores, message) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(labels, scores)
