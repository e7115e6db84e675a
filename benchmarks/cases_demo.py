"""The whole ``make demo`` pipeline (after install): ``ml-platform demo`` in a child process.

The child points the platform at an empty scratch folder (``ML_PLATFORM_DATA_DIR``, its own
``DAGSTER_HOME``, no inherited ``ML_PLATFORM_*``/``MLFLOW_*`` variables) and calls the console
script's ``main(["demo", ...])`` with the scale's simulation config: it simulates the landing
files (with the demo's defect rate), ingests, builds features and the Feast stores, trains and
promotes a champion, scores every day, monitors the last 7 days, builds the warehouse and
prints the summary — exactly what ``make demo`` runs once the venv exists. Every import the
command needs happens inside the timed call (the harness itself has only imported
``benchmarks`` and the simulator's config).

Afterwards (untimed) the Dagster instance's event log gives each run's and each step's start
and end: the sum of the step durations, plus the simulation (compute, but not a Dagster step;
the demo times it), is the compute; the rest of the wall time is the orchestration around it
(imports, building the definitions per run, creating the runs, run setup and teardown,
planning, the summary). The demo's own per-phase timing ("done in … s") is kept too, and a
thread samples the resident memory every 0.2 s to give each phase its peak (a phase's figure
includes what the allocator kept from earlier ones).
"""

import dataclasses
import io
import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.cases import _fresh
from benchmarks.harness import Case

_PHASE = re.compile(r"^== (\d)/8 (\w+)")
_DONE = re.compile(r"^\s+done in ([\d.]+) s")
_FINISHED = re.compile(r"^demo finished in ([\d.]+) s")
_SIMULATED = re.compile(r"^simulated [\d,]+ transactions.* in ([\d.]+) s$")


class _Tee(io.TextIOBase):
    """Writes to the child's log and keeps a copy (the demo's own timings are parsed from it).

    Also follows the demo's current phase (its ``== n/8 name`` lines) for the memory sampler.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.copy = io.StringIO()
        self.phase = "starting"

    def write(self, text: str) -> int:
        self.copy.write(text)
        for line in text.splitlines():
            if match := _PHASE.match(line):
                self.phase = match.group(2)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()


class _MemorySampler(threading.Thread):
    """Samples this process's resident memory every ``interval`` s; keeps the peak per phase."""

    def __init__(self, tee: _Tee, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.tee, self.interval = tee, interval
        self.peaks: dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        rss = _rss_mb()
        phase = self.tee.phase
        self.peaks[phase] = max(self.peaks.get(phase, 0), rss)

    def stop(self) -> dict[str, int]:
        self._stop_event.set()
        self.join()
        self.sample()
        return self.peaks


def _rss_mb() -> int:
    """Resident memory of this process now, in MB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _demo_phases(text: str) -> dict[str, float]:
    """Seconds per demo phase, from its ``== n/8 name`` and ``done in … s`` lines."""
    phases: dict[str, float] = {}
    current = None
    for line in text.splitlines():
        if match := _PHASE.match(line):
            current = match.group(2)
        elif (match := _DONE.match(line)) and current:
            phases[current] = float(match.group(1))
        elif match := _FINISHED.match(line):
            phases["demo_total"] = float(match.group(1))
        elif match := _SIMULATED.match(line):
            phases["simulating"] = float(match.group(1))
    return phases


def demo_case(params: dict[str, Any]) -> Case:
    """``ml-platform demo`` at the scale's simulation config, on an empty scratch folder."""
    from benchmarks.config import SCALES

    scale = SCALES[params["scale"]]
    config = scale.simulation
    if scale.demo_days is not None:
        config = dataclasses.replace(config, days=scale.demo_days)
    root = _fresh(Path(params["work"]) / "demo")
    root.mkdir()
    for name in list(os.environ):
        if name.startswith(("ML_PLATFORM_", "MLFLOW_")):
            del os.environ[name]
    os.environ["ML_PLATFORM_DATA_DIR"] = str(root)
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    argv = [
        "demo",
        f"--start={config.start.isoformat()}",
        f"--days={config.days}",
        f"--customers={config.customers}",
        f"--merchants={config.merchants}",
        f"--seed={config.seed}",
        "--no-progress",
    ]
    state: dict[str, Any] = {}

    def run() -> int:
        from ml_platform.cli import main

        tee = _Tee(sys.stdout)
        sampler = _MemorySampler(tee)
        saved, sys.stdout = sys.stdout, tee
        started = time.perf_counter()
        sampler.start()
        try:
            status = main(argv)
        finally:
            state["total"] = time.perf_counter() - started
            state["phase_peak_mb"] = sampler.stop()
            sys.stdout = saved
            state["output"] = tee.copy.getvalue()
        if status:
            raise RuntimeError(f"ml-platform demo exited with {status}")
        return status

    def finish(_: int) -> dict[str, Any]:
        return {
            "argv": argv,
            "total": state["total"],
            "phases": _demo_phases(state["output"]),
            "phase_peak_mb": state["phase_peak_mb"],
            **_event_log_timing(),
        }

    return Case(run=run, finish=finish)


def _event_log_timing() -> dict[str, Any]:
    """Run and step durations of every run in the scratch instance (its event log)."""
    import dagster as dg

    runs: list[dict[str, Any]] = []
    with dg.DagsterInstance.get() as instance:
        for record in reversed(instance.get_run_records()):
            run, created = record.dagster_run, record.create_timestamp
            stats = instance.get_run_stats(run.run_id)
            steps = {
                s.step_key: s.end_time - s.start_time
                for s in instance.get_run_step_stats(run.run_id)
                if s.start_time is not None and s.end_time is not None
            }
            types = Counter(
                e.dagster_event.event_type_value
                for e in instance.all_logs(run.run_id)
                if e.dagster_event is not None
            )
            runs.append(
                {
                    "job": run.job_name,
                    "status": run.status.value,
                    "seconds": (stats.end_time or 0) - (stats.start_time or 0),
                    # creating the run (snapshots, one "planned" event per asset partition)
                    "created_to_start": (stats.start_time or 0) - created.timestamp(),
                    "steps_seconds": sum(steps.values()),
                    "steps": steps,
                    "events": sum(types.values()),
                    "planned_events": types.get("ASSET_MATERIALIZATION_PLANNED", 0),
                    "materialization_events": types.get("ASSET_MATERIALIZATION", 0),
                }
            )
    summed = ("seconds", "created_to_start", "steps_seconds", "events", "planned_events")
    by_job: dict[str, dict[str, float]] = {}
    for run in runs:
        job = by_job.setdefault(run["job"], {"runs": 0, **{key: 0.0 for key in summed}})
        job["runs"] += 1
        for key in summed:
            job[key] += run[key]
    return {
        "runs": runs,
        "jobs": by_job,
        **{f"{key}_total": sum(r[key] for r in runs) for key in summed[1:]},
        "runs_seconds": sum(r["seconds"] for r in runs),
        "steps_seconds": sum(r["steps_seconds"] for r in runs),
    }
