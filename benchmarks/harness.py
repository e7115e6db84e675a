"""Measuring one call in a fresh process: wall time (best of N) and peak resident memory.

Every measurement runs in a ``multiprocessing`` *spawn* child, so nothing one case imported,
cached or allocated leaks into the next, and the child's peak memory is its own:

* time: ``time.perf_counter`` around the measured call only (setup and checks excluded);
  best of N where a run is cheap (stopping early once the time budget is spent);
* memory: the kernel's high-water mark of the child's resident set (``VmHWM`` in
  ``/proc/self/status``), reset just before each measured call (``/proc/self/clear_refs``),
  so ``peak_mb`` is the largest resident set *during* the call: interpreter, imports and the
  case's inputs included, because they are resident too. ``ru_maxrss`` is not used: with
  spawn on Linux it also carries the parent's peak from before ``exec``. tracemalloc is not
  used either: Polars, DuckDB and Arrow allocate outside Python's allocator.

A case is a function ``case(params) -> Case``: it does its setup (untimed) and returns the
call to time, plus an optional ``reset`` run before every repetition (untimed: e.g. remove the
table the previous repetition wrote) and ``finish`` run once after the last one (untimed:
e.g. write the result for an equivalence check). Children run with ``os.nice`` so a shared
machine stays usable; both sides of a comparison run the same way, one at a time.
"""

import importlib
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
NICE = int(os.environ.get("BENCH_NICE", "10"))


@dataclass
class Case:
    """What a child times: ``run``; ``reset`` before each repetition; ``finish`` at the end."""

    run: Callable[[], Any]
    reset: Callable[[], None] | None = None
    finish: Callable[[Any], dict[str, Any]] | None = None


@dataclass
class Measurement:
    """Outcome of one measured case."""

    case: str
    seconds: float
    times: list[float]
    peak_mb: float
    setup_mb: float
    info: dict[str, Any] = field(default_factory=dict)


def _status_mb(key: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:  # not Linux, or not allowed: the peak then includes setup
        pass


def _resolve(ref: str) -> Callable[[dict[str, Any]], Case]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _child(
    ref: str,
    params: dict[str, Any],
    repeats: int,
    budget: float,
    log_path: str,
    nice: int,
    conn: Any,
) -> None:
    log = open(log_path, "a", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    try:
        os.nice(nice)
    except OSError:
        pass
    try:
        case = _resolve(ref)(params)
        setup_mb = _status_mb("VmRSS")
        times: list[float] = []
        peaks: list[float] = []
        result: Any = None
        for _ in range(max(repeats, 1)):
            if case.reset:
                case.reset()
            result = None
            _reset_peak()
            started = time.perf_counter()
            result = case.run()
            times.append(time.perf_counter() - started)
            peaks.append(_status_mb("VmHWM"))
            if sum(times) >= budget:
                break
        info = case.finish(result) if case.finish else {}
        conn.send(
            {
                "ok": True,
                "seconds": min(times),
                "times": times,
                "peak_mb": max(peaks),
                "setup_mb": setup_mb,
                "info": info,
            }
        )
    except BaseException:
        conn.send({"ok": False, "error": traceback.format_exc()})
    finally:
        conn.close()
        log.flush()


class CaseFailed(RuntimeError):
    """A measured case raised in its child process."""


def measure(
    ref: str,
    params: dict[str, Any],
    log_dir: Path,
    repeats: int = 1,
    budget: float = 60.0,
    nice: int | None = None,
) -> Measurement:
    """Run case ``ref`` (``module:function``) in a spawn child and return what it measured.

    Args:
        ref: The case function, e.g. ``benchmarks.cases:ingest_project``.
        params: JSON-like parameters handed to the case function.
        log_dir: Folder for the child's stdout/stderr (``<function>.log``).
        repeats: Best of this many repetitions at most.
        budget: Stop repeating once the repetitions took this many seconds in total.
        nice: Niceness of the child (default ``BENCH_NICE``, 10).

    Raises:
        CaseFailed: The case raised; the message holds its traceback.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{ref.rpartition(':')[2]}.log"
    context = mp.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(ref, params, repeats, budget, str(log_path), NICE if nice is None else nice, sender),
    )
    process.start()
    sender.close()
    try:
        message = receiver.recv()
    except EOFError:
        message = {"ok": False, "error": f"child died (exit code {process.exitcode})"}
    process.join()
    if not message["ok"]:
        raise CaseFailed(f"{ref} failed (log: {log_path}):\n{message['error']}")
    return Measurement(
        case=ref,
        seconds=message["seconds"],
        times=message["times"],
        peak_mb=message["peak_mb"],
        setup_mb=message["setup_mb"],
        info=message["info"],
    )
