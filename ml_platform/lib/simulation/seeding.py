"""Deterministic random generators derived from the config seed.

Every stream is keyed by (seed, purpose[, day]) so that one part of the simulation can
change (another scenario, more days) without shifting the random numbers of another.
"""

from __future__ import annotations

import zlib

import numpy as np

DAY_STREAMS: tuple[str, ...] = (
    "signups",
    "updates",
    "travel",
    "legit",
    "compromise",
    "fraud",
    "labels",
    "chargebacks",
    "defects",
    "chargeback_defects",
)


def _key(purpose: str) -> int:
    return zlib.crc32(purpose.encode("utf-8"))


def static_rng(seed: int, purpose: str) -> np.random.Generator:
    """Return a generator for a day-independent purpose (e.g. the initial customers).

    Args:
        seed: The config seed.
        purpose: Name of what the numbers are for.

    Returns:
        A generator that depends only on ``seed`` and ``purpose``.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, _key(purpose)]))


def day_rngs(seed: int, day: int) -> dict[str, np.random.Generator]:
    """Return one independent generator per stream of ``DAY_STREAMS`` for a day.

    Args:
        seed: The config seed.
        day: 0-based day index.

    Returns:
        Generators keyed by stream name; they depend only on ``seed``, ``day`` and the name.
    """
    return {
        name: np.random.default_rng(np.random.SeedSequence([seed, day, _key(name)]))
        for name in DAY_STREAMS
    }
