"""The champion gate: does a challenger replace the champion?

``decide`` is the rule, pure: promote when there is no champion, or when the challenger beats
the champion by more than ``margin`` on the gate metric (ROC-AUC), both measured on the same
window; otherwise keep the champion. A worse (or equal, or unmeasurable) challenger is never
promoted. ``evaluate_models`` produces the two measurements on one window with the one
scoring path. The registry side (reading the champion, moving the alias under a lock) is in
``promotion``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import polars as pl

from ml_platform.lib.training.dataset import LABEL
from ml_platform.lib.training.metrics import evaluate
from ml_platform.lib.training.model import score

if TYPE_CHECKING:
    import lightgbm as lgb

GATE_METRIC = "roc_auc"


@dataclass(frozen=True)
class GateDecision:
    """The outcome of comparing a challenger with the champion.

    Attributes:
        promote: Whether the challenger should become champion.
        reason: Human-readable why.
        metric: The metric compared (higher is better).
        margin: How much the challenger had to gain.
        challenger_score: The challenger's score on the window.
        champion_score: The champion's score on the same window (``None`` without champion).
        challenger_version: Registry version of the challenger, if known.
        champion_version: Registry version of the champion compared against (``None``: none).
    """

    promote: bool
    reason: str
    metric: str
    margin: float
    challenger_score: float
    champion_score: float | None
    challenger_version: str | None = None
    champion_version: str | None = None

    def tags(self) -> dict[str, str]:
        """The decision as MLflow tags (``gate.*``; ``none`` for a missing value)."""
        return {f"gate.{key}": _tag_value(value) for key, value in asdict(self).items()}


def _tag_value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def decide(
    challenger_metrics: dict[str, float],
    champion_metrics: dict[str, float] | None,
    margin: float,
    metric: str = GATE_METRIC,
    challenger_version: str | None = None,
    champion_version: str | None = None,
) -> GateDecision:
    """Decide whether the challenger replaces the champion.

    Args:
        challenger_metrics: The challenger's metrics on the gate window.
        champion_metrics: The champion's metrics on the same window; ``None`` without one.
        margin: Gain required over the champion (>= 0); equal scores never promote.
        metric: Metric to compare (higher is better).
        challenger_version: Registry version of the challenger (recorded only).
        champion_version: Registry version of the champion (recorded only).

    Returns:
        The decision with both scores.

    Raises:
        ValueError: If ``margin`` is negative or NaN.
    """
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    challenger = float(challenger_metrics[metric])
    champion = None if champion_metrics is None else float(champion_metrics[metric])

    def decision(promote: bool, reason: str) -> GateDecision:
        return GateDecision(
            promote=promote,
            reason=reason,
            metric=metric,
            margin=margin,
            challenger_score=challenger,
            champion_score=champion,
            challenger_version=challenger_version,
            champion_version=champion_version,
        )

    if math.isnan(challenger):
        return decision(False, f"challenger {metric} is undefined")
    if champion is None:
        return decision(True, "no champion yet")
    if math.isnan(champion):
        return decision(False, f"champion {metric} is undefined: not replacing it blindly")
    gain = challenger - champion
    if gain > margin:
        return decision(True, f"challenger beats champion by {gain:.4f} > margin {margin:.4f}")
    return decision(False, f"challenger gains {gain:.4f}, not more than margin {margin:.4f}")


def evaluate_models(
    window: pl.DataFrame, challenger: lgb.Booster, champion: lgb.Booster | None
) -> tuple[dict[str, float], dict[str, float] | None]:
    """Metrics of the challenger and the champion on the same labelled window.

    Args:
        window: Labelled rows with every model feature, e.g. the newest matured split.
        challenger: The challenger model.
        champion: The champion model, or ``None``.

    Returns:
        The challenger's metrics and the champion's (``None`` without champion).
    """
    labels = window.get_column(LABEL).to_numpy()
    challenger_metrics = evaluate(labels, score(challenger, window))
    if champion is None:
        return challenger_metrics, None
    return challenger_metrics, evaluate(labels, score(champion, window))
