"""Champion/challenger holder: alias polling, atomic swaps, shadow rules, failures."""

import threading
from typing import Any

import numpy as np
import pytest

from ml_platform.serving.models import ModelHolder, NoChampionError


class Registry:
    """Aliases that a test moves, and a loader that records what it loaded."""

    def __init__(self, **aliases: str) -> None:
        self.aliases = dict(aliases)
        self.loaded: list[str] = []
        self.fail: Exception | None = None

    def read(self) -> dict[str, str]:
        if self.fail is not None:
            raise self.fail
        return dict(self.aliases)

    def load(self, version: str) -> Any:
        self.loaded.append(version)
        return f"booster-{version}"


def _holder(registry: Registry, shadow: bool = True, **kw: Any) -> ModelHolder:
    return ModelHolder(
        tracking=None,  # type: ignore[arg-type]  # unused with injected aliases and loader
        model_name="fraud_detector",
        shadow=shadow,
        poll_seconds=kw.pop("poll_seconds", 60),
        loader=registry.load,
        aliases=registry.read,
        **kw,
    )


def _versions(holder: ModelHolder) -> tuple[str, str | None]:
    pair = holder.current
    assert pair is not None
    return pair.champion.version, pair.challenger.version if pair.challenger else None


def test_loads_champion_and_a_different_challenger_for_shadow_mode() -> None:
    registry = Registry(champion="3", challenger="4")
    holder = _holder(registry)
    holder.refresh()
    assert _versions(holder) == ("3", "4")
    assert holder.current.champion.booster == "booster-3"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("aliases", "shadow", "expected"),
    [
        ({"champion": "3", "challenger": "3"}, True, ("3", None)),  # same: nothing to compare
        ({"champion": "3", "challenger": "4"}, False, ("3", None)),  # shadow off
        ({"champion": "3"}, True, ("3", None)),  # no challenger
    ],
)
def test_no_shadow_model_when_there_is_nothing_to_compare(
    aliases: dict[str, str], shadow: bool, expected: tuple[str, str | None]
) -> None:
    registry = Registry(**aliases)
    holder = _holder(registry, shadow=shadow)
    holder.refresh()
    assert _versions(holder) == expected
    assert registry.loaded == ["3"]


def test_an_alias_move_swaps_the_pair_and_reuses_loaded_versions() -> None:
    registry = Registry(champion="3", challenger="4")
    changes: list[tuple[str, str | None]] = []
    holder = _holder(
        registry,
        on_change=lambda p: changes.append(
            (p.champion.version, p.challenger.version if p.challenger else None)
        ),
    )
    holder.refresh()
    first = holder.current
    holder.refresh()  # nothing moved
    assert holder.current.champion is first.champion  # type: ignore[union-attr]
    registry.aliases = {"champion": "4", "challenger": "3"}  # swap roles
    holder.refresh()
    assert _versions(holder) == ("4", "3")
    assert registry.loaded == ["3", "4"]  # nothing loaded twice
    assert changes == [("3", "4"), ("4", "3")]
    assert first is not None and first.champion.version == "3"  # old pair left intact


def test_no_champion_fails_the_start() -> None:
    with pytest.raises(NoChampionError, match="champion"):
        _holder(Registry(challenger="2")).start()


def test_a_failing_poll_keeps_the_current_models_and_is_reported() -> None:
    registry = Registry(champion="3")
    errors: list[Exception] = []
    polled = threading.Event()

    def on_error(error: Exception) -> None:
        errors.append(error)
        polled.set()

    holder = _holder(registry, poll_seconds=0.01, on_error=on_error)
    holder.start()
    try:
        registry.fail = ConnectionError("registry down")
        assert polled.wait(5)
        assert _versions(holder) == ("3", None)
        assert holder.last_error == "ConnectionError: registry down"
        registry.fail = None
        registry.aliases = {"champion": "5"}
        deadline = threading.Event()
        for _ in range(500):
            if _versions(holder) == ("5", None):
                break
            deadline.wait(0.01)
        assert _versions(holder) == ("5", None)
        assert holder.last_error is None
    finally:
        holder.stop()
    assert isinstance(errors[0], ConnectionError)


def test_predict_scores_one_row_on_one_thread() -> None:
    class Booster:
        def predict(self, row: np.ndarray, num_threads: int) -> np.ndarray:
            assert row.shape == (1, 3) and num_threads == 1
            return np.array([0.25])

    from ml_platform.serving.models import LoadedModel

    assert LoadedModel("1", Booster()).predict(np.zeros((1, 3))) == 0.25  # type: ignore[arg-type]
