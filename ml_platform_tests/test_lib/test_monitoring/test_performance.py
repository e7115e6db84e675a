"""Matured performance: which cohorts a report covers, labels as known then, the verdict."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.monitoring.performance import (
    CohortWindow,
    matured_labels,
    performance_frame,
    performance_metrics,
    performance_row,
)


def test_a_report_covers_the_matured_cohort_and_its_trailing_window() -> None:
    window = CohortWindow.of(dt.date(2026, 3, 31), maturity_days=30, window_days=7)
    assert window.cohort_day == dt.date(2026, 3, 1)
    assert window.window_start == dt.date(2026, 2, 23)
    assert window.labels_as_of == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def test_metrics_at_the_threshold() -> None:
    labels = np.array([1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.2, 0.6, 0.1, 0.05])
    metrics = performance_metrics(labels, scores, threshold=0.5)
    assert metrics["alerts"] == 2 and metrics["frauds"] == 2
    assert metrics["precision"] == 0.5 and metrics["recall"] == 0.5
    assert metrics["alert_rate"] == pytest.approx(0.4)
    assert metrics["roc_auc"] == pytest.approx(5 / 6)  # 5 of 6 fraud/legit pairs ordered


def test_ranking_metrics_are_undefined_without_frauds() -> None:
    metrics = performance_metrics(np.zeros(4), np.array([0.1, 0.2, 0.7, 0.3]), 0.5)
    assert metrics["roc_auc"] is None and metrics["recall"] is None
    assert metrics["precision"] == 0.0 and metrics["alerts"] == 1


def test_labels_reported_after_the_report_day_are_not_known() -> None:
    scores = pl.DataFrame({"transaction_id": ["a", "b"], "score": [0.9, 0.1]})
    labels = pl.DataFrame(
        {
            "transaction_id": ["a", "b"],
            "is_fraud": [True, True],
            "reported_at": [
                dt.datetime(2026, 3, 31, 23, tzinfo=dt.UTC),
                dt.datetime(2026, 4, 1, 0, tzinfo=dt.UTC),
            ],
        }
    )
    as_of = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert matured_labels(scores, labels, as_of)["label"].to_list() == [1, 0]


def _labelled(days: int, auc_noise: float, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = dt.date(2026, 3, 1)
    n = 400
    label = rng.random(days * n) < 0.05
    score = np.clip(label * 0.6 + rng.random(days * n) * (0.4 + auc_noise), 0, 1)
    return pl.DataFrame(
        {
            "event_date": [start + dt.timedelta(days=i // n) for i in range(days * n)],
            "label": label.astype(np.int8),
            "score": score,
            "model_version": "3",
        }
    )


def test_the_verdict_compares_the_trailing_window_with_validation() -> None:
    window = CohortWindow.of(dt.date(2026, 3, 21), maturity_days=14, window_days=7)
    good = performance_row(window, _labelled(7, 0.0), 0.5, 0.95, 0.03)
    bad = performance_row(window, _labelled(7, 2.0), 0.5, 0.95, 0.03)
    assert good["window_roc_auc"] > 0.95 and not good["degraded"]
    assert bad["window_roc_auc"] < 0.92 and bad["degraded"]
    assert good["rows"] == 400 and good["window_rows"] == 2800
    assert good["model_version"] == "3"
    frame = performance_frame([good, bad])
    assert frame.schema["roc_auc"] == pl.Float64 and frame.height == 2
