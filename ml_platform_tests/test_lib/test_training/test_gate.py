"""The gate's rule: promote without champion or when clearly better; never when worse."""

import math

import pytest

from ml_platform.lib.training.gate import GateDecision, decide


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "promote"),
    [
        (0.80, None, 0.002, True),  # no champion yet
        (0.95, 0.90, 0.002, True),  # clearly better
        (0.9030, 0.90, 0.002, True),  # better by more than the margin
        (0.9015, 0.90, 0.002, False),  # better, but by less than the margin
        (0.90, 0.90, 0.0, False),  # equal never promotes
        (0.85, 0.90, 0.0, False),  # worse never promotes
        (0.50, 0.90, 0.002, False),  # a model without signal
        (math.nan, 0.90, 0.002, False),
        (math.nan, None, 0.002, False),
        (0.95, math.nan, 0.002, False),
    ],
)
def test_decide(challenger, champion, margin, promote) -> None:
    decision = decide(
        {"roc_auc": challenger},
        None if champion is None else {"roc_auc": champion},
        margin,
        challenger_version="2",
        champion_version=None if champion is None else "1",
    )
    assert decision.promote is promote
    assert decision.margin == margin
    assert decision.champion_score == champion or math.isnan(decision.champion_score)


def test_decision_tags_hold_both_scores() -> None:
    decision = decide({"roc_auc": 0.95}, {"roc_auc": 0.9}, 0.002, "roc_auc", "3", "2")
    tags = decision.tags()
    assert tags["gate.promote"] == "true"
    assert tags["gate.challenger_score"] == "0.95"
    assert tags["gate.champion_score"] == "0.9"
    assert tags["gate.champion_version"] == "2"
    assert tags["gate.metric"] == "roc_auc"
    assert "beats" in tags["gate.reason"]
    first = decide({"roc_auc": 0.7}, None, 0.002).tags()
    assert first["gate.champion_score"] == "none" and first["gate.champion_version"] == "none"


@pytest.mark.parametrize("margin", [-0.01, math.nan])
def test_bad_margin_is_rejected(margin) -> None:
    with pytest.raises(ValueError, match="margin"):
        decide({"roc_auc": 0.9}, None, margin)


def test_decision_is_a_frozen_record() -> None:
    decision = decide({"roc_auc": 0.9}, None, 0.0)
    assert isinstance(decision, GateDecision)
    with pytest.raises(AttributeError):
        decision.promote = False  # type: ignore[misc]
