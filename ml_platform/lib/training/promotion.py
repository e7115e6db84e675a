"""The champion gate against the live registry: evaluate, decide, move the alias.

The challenger and the current champion are scored on the same labelled window (the newest
matured rows), ``gate.decide`` decides, and ``registry.promote`` applies the decision under
the promotion lock, after checking that the champion did not change meanwhile. If it did
(another challenger was promoted while this one was being evaluated), the gate runs again
against the new champion, a bounded number of times.
"""

from dataclasses import dataclass

import polars as pl

from ml_platform.lib.training.gate import GateDecision, decide, evaluate_models
from ml_platform.lib.training.registry import Tracking, current_champion, load_model, promote

GATE_ATTEMPTS = 3


@dataclass(frozen=True)
class GateResult:
    """What the gate decided and did.

    Attributes:
        decision: The decision and both scores.
        outcome: ``promoted`` (the challenger is now champion) or ``kept`` (the champion
            stays).
        challenger_metrics: Every metric of the challenger on the window.
        champion_metrics: Every metric of the champion on the window (``None``: no champion).
    """

    decision: GateDecision
    outcome: str
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None

    @property
    def promoted(self) -> bool:
        """Whether the challenger became champion."""
        return self.outcome == "promoted"


def champion_gate(
    tracking: Tracking,
    name: str,
    challenger_version: str,
    window: pl.DataFrame,
    margin: float,
) -> GateResult:
    """Compare a registered challenger with the champion on ``window`` and promote if better.

    Args:
        tracking: The configured store.
        name: Registered model name.
        challenger_version: The challenger's version.
        window: Labelled rows with every model feature, newer than the challenger's training
            rows (e.g. the test split of its training set).
        margin: ROC-AUC the challenger must gain over the champion.

    Returns:
        The decision, the outcome and both models' metrics (also tagged in MLflow).

    Raises:
        RuntimeError: If the champion kept changing during ``GATE_ATTEMPTS`` evaluations.
    """
    challenger = load_model(tracking, name, challenger_version)
    for _ in range(GATE_ATTEMPTS):
        champion_version = current_champion(tracking, name)
        champion = (
            None if champion_version is None else load_model(tracking, name, champion_version)
        )
        challenger_metrics, champion_metrics = evaluate_models(window, challenger, champion)
        decision = decide(
            challenger_metrics,
            champion_metrics,
            margin,
            challenger_version=str(challenger_version),
            champion_version=champion_version,
        )
        outcome = promote(tracking, name, decision)
        if outcome != "superseded":
            return GateResult(decision, outcome, challenger_metrics, champion_metrics)
    raise RuntimeError(
        f"the champion of {name} changed during each of {GATE_ATTEMPTS} gate evaluations"
    )
