"""Quality metrics of a fraud score against 0/1 labels.

ROC-AUC ranks (the gate's metric), PR-AUC (average precision: what matters at a 1 % fraud
rate), recall at a 1 % false-positive rate (fraud caught when one legitimate transaction in a
hundred may be flagged), log loss and a calibration summary (are scores probabilities?).
scikit-learn is imported by the functions that use it, not when the code location loads.
"""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

RECALL_AT_FPR = 0.01
CALIBRATION_BINS = 10


def _arrays(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(np.int64).ravel()
    p = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels but {p.size} scores")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if np.isnan(p).any():
        raise ValueError("scores contain NaN")
    return y, p


def _both_classes(y: np.ndarray) -> None:
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        raise ValueError(f"need both classes, got {positives} positives among {y.size} rows")


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve (ties count half)."""
    from sklearn import metrics as skm

    y, p = _arrays(labels, scores)
    _both_classes(y)
    return float(skm.roc_auc_score(y, p))


def pr_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the precision-recall curve, as average precision (no interpolation)."""
    from sklearn import metrics as skm

    y, p = _arrays(labels, scores)
    _both_classes(y)
    return float(skm.average_precision_score(y, p))


def recall_at_fpr(labels: ArrayLike, scores: ArrayLike, max_fpr: float = RECALL_AT_FPR) -> float:
    """Highest recall of a threshold whose false-positive rate is at most ``max_fpr``.

    A threshold flags every score at or above it, so tied scores are flagged together.
    """
    from sklearn import metrics as skm

    y, p = _arrays(labels, scores)
    _both_classes(y)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def log_loss(labels: ArrayLike, scores: ArrayLike) -> float:
    """Mean negative log-likelihood of the labels under the scores (clipped at 1e-15)."""
    from sklearn import metrics as skm

    y, p = _arrays(labels, scores)
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    return float(skm.log_loss(y, clipped, labels=[0, 1]))


def calibration_summary(
    labels: ArrayLike, scores: ArrayLike, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Mean score against observed fraud rate in equal-count bins of increasing score.

    Equal-count (quantile) bins, because at a ~1 % fraud rate nearly every score falls in
    the lowest tenth of [0, 1]: equal-width bins would put almost all rows in one bin.

    Returns:
        Up to ``bins`` dicts (fewer when there are fewer rows) with ``bin`` (0 = lowest
        scores), ``count``, ``min_score``, ``max_score``, ``mean_score`` and
        ``observed_rate``.
    """
    y, p = _arrays(labels, scores)
    order = np.argsort(p, kind="stable")
    summary = []
    for index, rows in enumerate(r for r in np.array_split(order, bins) if r.size):
        summary.append(
            {
                "bin": index,
                "count": int(rows.size),
                "min_score": float(p[rows].min()),
                "max_score": float(p[rows].max()),
                "mean_score": float(p[rows].mean()),
                "observed_rate": float(y[rows].mean()),
            }
        )
    return summary


def calibration_error(summary: list[dict[str, Any]]) -> float:
    """Expected calibration error: count-weighted mean |mean score - observed rate|."""
    total = sum(b["count"] for b in summary)
    if not total:
        return float("nan")
    gaps = sum(b["count"] * abs(b["mean_score"] - b["observed_rate"]) for b in summary)
    return float(gaps / total)


def evaluate(labels: ArrayLike, scores: ArrayLike) -> dict[str, float]:
    """Every metric of a scored, labelled window.

    Returns:
        ``roc_auc``, ``pr_auc``, ``recall_at_1pct_fpr``, ``log_loss``, ``calibration_error``
        (over ``CALIBRATION_BINS`` equal-count bins), ``rows``, ``positives`` and
        ``positive_rate``.

    Raises:
        ValueError: If the window lacks one class (no ranking metric is defined).
    """
    y, p = _arrays(labels, scores)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "recall_at_1pct_fpr": recall_at_fpr(y, p, RECALL_AT_FPR),
        "log_loss": log_loss(y, p),
        "calibration_error": calibration_error(calibration_summary(y, p)),
        "rows": float(y.size),
        "positives": float(y.sum()),
        "positive_rate": float(y.mean()),
    }
