"""Feast writer processes for the concurrency test, started as fresh interpreters.

Run as ``python -m ml_platform_tests.test_reliability.feast_workers <role> <data_dir> <sync>
<hold>``. Each role is what one deployment (``ml-platform features``, the daemon's run worker,
a second host on the same disk) does to the Feast repo on every run: apply the definitions if
they changed, then write the newest snapshots online, through the library functions the
assets call.

``sync`` is a folder of signal files. The library code is not changed; the store methods that
do the writing (``apply``, and ``write_to_online_store`` or, on the project's SQLite online
store, its ``write_frame``) are wrapped to wait, at most ``hold`` seconds, for the other
process to reach the same point: that opens the window an unguarded compare-then-write loses
in, every time. With the writers' lock, the other process waits at the lock instead, the wait
times out and the writes happen one after the other.
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml_platform.lib.feature_store.online_store import project_online_store
from ml_platform.lib.feature_store.store import (
    apply_if_changed,
    feature_repo,
    feature_store,
    materialize_latest,
)
from ml_platform.settings import Settings

STARTUP_TIMEOUT = 120.0


def wait_for(path: Path, timeout: float) -> bool:
    """Wait until ``path`` exists; ``False`` when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _pausing(method: Callable[..., Any], arrived: Path, other: Path, hold: float) -> Callable:
    """``method``, but first signal ``arrived`` and wait (bounded) for ``other``."""

    def paused(*args: Any, **kwargs: Any) -> Any:
        arrived.touch()
        met = wait_for(other, hold)
        sys.stdout.write(f"{method.__name__}: other process {'met' if met else 'not met'}\n")
        return method(*args, **kwargs)

    return paused


def run(role: str, data_dir: str, sync: str, hold: str) -> None:
    """One pipeline run of role ``older`` or ``newer`` (see the test for the choreography)."""
    signals, seconds = Path(sync), float(hold)
    other = "newer" if role == "older" else "older"
    settings = Settings.under(data_dir)
    store = feature_store(settings)
    store.apply = _pausing(  # type: ignore[method-assign]
        store.apply, signals / f"applying-{role}", signals / f"applying-{other}", seconds
    )
    if not wait_for(signals / "go", STARTUP_TIMEOUT):
        raise TimeoutError("no go signal")
    applied = apply_if_changed(store, feature_repo(settings))
    sys.stdout.write(f"applied={','.join(applied)}\n")
    if role == "older":
        # Chooses day 2 (the newest export now), then waits for the newer run to write day 3.
        online = project_online_store(store)
        if online is not None:  # the project's SQLite store: rows written by write_frame
            online.write_frame = _pausing(  # type: ignore[method-assign]
                online.write_frame, signals / "read", signals / "newer-written", seconds
            )
        else:
            store.write_to_online_store = _pausing(  # type: ignore[method-assign]
                store.write_to_online_store, signals / "read", signals / "newer-written", seconds
            )
    elif not wait_for(signals / "day3", STARTUP_TIMEOUT):  # published once older has read
        raise TimeoutError("day 3 was never published")
    written = materialize_latest(store, feature_repo(settings))
    if role == "newer":
        (signals / "newer-written").touch()
    sys.stdout.write(f"written={written}\n")


if __name__ == "__main__":
    run(*sys.argv[1:])
