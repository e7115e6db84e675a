"""Keeping SIGTERM's disposition across Dagster's in-process execution.

Dagster 1.13 rewires SIGTERM whenever it swaps its SIGINT handler around an in-process run
(``dagster._utils.interrupts``: SIGTERM is set to whatever SIGINT is), and leaves it so. A
process started with SIGINT ignored — anything launched in the background by a non-interactive
shell (``make test &``, ``nohup … &``, many supervisors) — ends up with SIGTERM *ignored* too,
and every child it starts afterwards inherits that: ``Process.terminate()``, ``Pool``'s
shutdown and a plain ``kill`` no longer stop them (a test suite hung on a ``Pool`` exit this
way). ``preserved_sigterm`` puts SIGTERM back as it was once the run is over.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def preserved_sigterm() -> Iterator[None]:
    """Restore SIGTERM's handler on exit to what it was on entry (main thread only).

    Signal handlers can only be set from the main thread; elsewhere (where Dagster cannot set
    them either) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not None and signal.getsignal(signal.SIGTERM) != before:
            signal.signal(signal.SIGTERM, before)
