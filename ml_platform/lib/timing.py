"""Wall-clock seconds per named phase of a piece of work.

A step that does several things in a row (read, retrieve features, score, write) takes a
``Phases`` and calls ``lap(name)`` after each; the asset logs ``summary()`` with its progress
and the benchmarks (``benchmarks/``) read ``seconds`` to report where the time of the project's
own code path goes, without re-implementing it.
"""

import time


class Phases:
    """Seconds per named phase, measured between consecutive ``lap`` calls."""

    def __init__(self) -> None:
        """Start the clock of the first phase now."""
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        """End the current phase as ``name`` (added to any earlier phase of that name)."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def summary(self) -> str:
        """The phases in order, e.g. ``"read 0.41 s, features 2.10 s"``."""
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())
