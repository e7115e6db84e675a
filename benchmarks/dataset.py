"""Benchmark datasets: simulated once per scale with the project's simulator, then cached.

``data/bench/<scale>/`` holds the landing files, the lake (bronze, silver, features), the Feast
registry, offline exports and online store, and the Dagster instance that built them, all made
by the project's own code (``simulate``, then the real ``ingestion_job`` and ``feature_job``
through ``runner.run_ingestion`` / ``runner.run_features``). ``dataset.json`` records what was
built from what: the landing data is reused while the simulation config and the simulator's
code are unchanged; the lake and Feast stores are rebuilt (from the same landing files) when
the pipeline's code changed. ``BENCH_REBUILD=1`` rebuilds both.
"""

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.config import Paths, Scale, bench_settings, landing_key, pipeline_key
from benchmarks.harness import Case, measure


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read_marker(paths: Paths) -> dict[str, Any]:
    try:
        return json.loads(paths.marker.read_text())
    except (OSError, ValueError):
        return {}


def ensure_dataset(scale: Scale, paths: Paths) -> dict[str, Any]:
    """Build whatever part of the scale's dataset is missing or stale; return its marker."""
    marker = _read_marker(paths)
    rebuild = os.environ.get("BENCH_REBUILD", "").strip() not in ("", "0")
    wanted_landing, wanted_pipeline = landing_key(scale), pipeline_key()
    logs = paths.root / "logs"
    if rebuild or marker.get("landing_key") != wanted_landing:
        _log(f"[dataset] simulating {scale.name}: {scale.simulation}")
        for folder in (paths.landing, paths.truth):
            shutil.rmtree(folder, ignore_errors=True)
        params = {"root": str(paths.root), "scale": scale.name}
        done = measure("benchmarks.dataset:simulate_case", params, logs)
        marker = {
            "scale": scale.name,
            "landing_key": wanted_landing,
            "simulated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "simulate_seconds": round(done.seconds, 1),
            "simulate_peak_mb": round(done.peak_mb),
            **done.info,
        }
        paths.marker.parent.mkdir(parents=True, exist_ok=True)
        paths.marker.write_text(json.dumps(marker, indent=2))
    if rebuild or marker.get("pipeline_key") != wanted_pipeline:
        _log(f"[dataset] building the lake and Feast stores for {scale.name} (real Dagster jobs)")
        for folder in (paths.lake, paths.feast, paths.dagster_home):
            shutil.rmtree(folder, ignore_errors=True)
        params = {
            "root": str(paths.root),
            "landing": str(paths.landing),
            "dagster_home": str(paths.dagster_home),
        }
        done = measure("benchmarks.dataset:pipeline_case", params, logs)
        marker.update(
            pipeline_key=wanted_pipeline,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            build_seconds=round(done.seconds, 1),
            build_peak_mb=round(done.peak_mb),
            **done.info,
        )
        paths.marker.write_text(json.dumps(marker, indent=2))
    return marker


def simulate_case(params: dict[str, Any]) -> Case:
    """Simulate the scale's landing files (the project's simulator)."""
    from benchmarks.config import SCALES
    from ml_platform.lib.simulation import simulate

    root = Path(params["root"])
    scale = SCALES[params["scale"]]

    def run() -> Any:
        return simulate(scale.simulation, root / "landing", root / "ground_truth", progress=False)

    def finish(summary: Any) -> dict[str, Any]:
        return {
            "transactions": summary.transactions,
            "chargebacks": summary.chargebacks,
            "distinct_customers": summary.distinct_customers,
            "merchants": summary.merchants,
            "days": summary.days,
            "first_day": summary.start.isoformat(),
            "last_day": summary.end.isoformat(),
        }

    return Case(run=run, finish=finish)


def pipeline_case(params: dict[str, Any]) -> Case:
    """Landing → bronze → silver → features → Feast, through the real Dagster jobs.

    ``params``: ``root`` (lake, Feast and the rest live under it), ``landing`` (the landing
    folder to ingest; only read) and ``dagster_home`` (the instance the runs are recorded in).
    """
    import dagster as dg

    from ml_platform.runner import ensure_dagster_home, run_features, run_ingestion

    root = Path(params["root"])
    settings = bench_settings(root, landing_dir=params["landing"])
    os.environ["DAGSTER_HOME"] = params["dagster_home"]
    ensure_dagster_home()
    timings: dict[str, float] = {}

    def run() -> None:
        import time

        with dg.DagsterInstance.get() as instance:
            started = time.perf_counter()
            outcomes = run_ingestion(settings, instance, log=print)
            timings["ingestion_seconds"] = time.perf_counter() - started
            if not outcomes or not all(o.success for o in outcomes):
                raise RuntimeError(f"ingestion failed: {outcomes}")
            started = time.perf_counter()
            outcome = run_features(settings, instance, log=print)
            timings["features_seconds"] = time.perf_counter() - started
            if outcome is None or not outcome.success:
                raise RuntimeError(f"feature run failed: {outcome}")

    def finish(_: Any) -> dict[str, Any]:
        return {k: round(v, 1) for k, v in timings.items()}

    return Case(run=run, finish=finish)
