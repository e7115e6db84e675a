"""Exclusive advisory file locks that serialize the processes of one host.

Used wherever a store is single-writer and processes outside Dagster's concurrency pools can
meet on it: MLflow store creation and promotion, the warehouse builders, Feast's registry and
online store.
"""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_TIMEOUT_SECONDS = 600.0


@contextmanager
def file_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the block.

    The lock belongs to the open file, not the process: do not nest two blocks on the same
    path in one process (the inner one would wait for the outer one until ``timeout``).

    Raises:
        TimeoutError: If the lock is not acquired within ``timeout`` seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not lock {path} within {timeout} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
