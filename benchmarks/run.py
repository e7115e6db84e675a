"""``python -m benchmarks.run``: the platform's hot paths against baselines, one table.

``BENCH_SCALE=small|medium|large`` picks the dataset (built once under ``data/bench/<scale>/``
and reused); ``BENCH_ONLY=ingest,features,...`` runs some groups only (see ``GROUPS``);
``BENCH_NICE`` sets the children's niceness (default 10); ``BENCH_REBUILD=1`` rebuilds the
dataset. Prints a markdown table on stdout (progress goes to stderr) and writes
``benchmarks/results/<scale>-<timestamp>.json``. Exits 1 if a baseline's values differ from the
project's or a case fails (the table is still printed).
"""

import datetime as dt
import json
import os
import platform
import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import groups, groups_data
from benchmarks.bench import Bench, Row, _log
from benchmarks.config import RESULTS_DIR, current_scale, paths_for
from benchmarks.dataset import ensure_dataset

# --- groups: the functions live in groups_data (data layers, serving) and groups (the rest) ---

GROUPS: dict[str, Callable[[Bench], None]] = {
    "ingest": groups_data.group_ingest,
    "features": groups_data.group_features,
    "pandas": groups_data.group_pandas,
    "incremental": groups_data.group_incremental,
    "validation": groups_data.group_validation,
    "feature_job": groups_data.group_feature_job,
    "retrieval": groups_data.group_retrieval,
    "materialize": groups_data.group_materialize,
    "lookup": groups_data.group_lookup,
    "lookup_serving": groups.group_lookup_serving,
    "serving": groups_data.group_serving,
    "scoring": groups.group_scoring,
    "mlflow": groups.group_mlflow,
    "drift": groups.group_drift,
    "demo": groups.group_demo,
}


# --- output -----------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    return f"{value * 1000:.2f} ms"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(rows: list[Row]) -> str:
    """The results as one markdown table."""
    lines = [
        "| hot path | baseline | project | baseline time | ratio | peak MB | target | met |",
        "|---|---|--:|--:|--:|--:|---|:-:|",
    ]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.3g}"
        peak = "—" if r.peak_mb is None else f"{r.peak_mb:,.0f}"
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        target = r.target + (f" ({r.notes})" if r.notes else "")
        cells = [
            r.name,
            r.baseline,
            _seconds(r.project_seconds),
            _seconds(r.baseline_seconds),
            ratio,
            peak,
            target,
            met,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, load and library versions of this machine."""
    import deltalake
    import duckdb
    import feast
    import pandas
    import pandera

    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            m.__name__: m.__version__ for m in (pl, duckdb, pandas, deltalake, feast, pandera)
        },
    }
    try:
        meminfo = Path("/proc/meminfo").read_text().split()
        info["ram_gb"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1)
        cpu = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else None
    except (OSError, ValueError):
        pass
    return info


def main() -> int:
    """Run the benchmark groups of ``BENCH_SCALE``; print the table, write the JSON."""
    scale = current_scale()
    paths = paths_for(scale)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    _log(f"scale {scale.name}: dataset under {paths.root}")
    marker = ensure_dataset(scale, paths)
    shutil.rmtree(paths.work, ignore_errors=True)
    paths.work.mkdir(parents=True)
    bench = Bench(scale, paths, marker)
    wanted = [g.strip() for g in os.environ.get("BENCH_ONLY", "").split(",") if g.strip()]
    unknown = sorted(set(wanted) - set(GROUPS))
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown group(s) {unknown}; expected {sorted(GROUPS)}")
    for name, group in GROUPS.items():
        if wanted and name not in wanted:
            continue
        _log(f"group {name}")
        try:
            group(bench)
        except Exception as error:
            bench.failures.append(f"{name}: {error}")
            _log(f"group {name} FAILED:\n{traceback.format_exc()}")
            bench.rows.append(
                Row(name=f"{name} (failed)", baseline="—", target="—", notes=str(error)[:200])
            )

    table = markdown(bench.rows)
    finished = dt.datetime.now(dt.UTC)
    result = {
        "scale": scale.name,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "command": f"BENCH_SCALE={scale.name} python -m benchmarks.run",
        "groups": wanted or list(GROUPS),
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "nice": int(os.environ.get("BENCH_NICE", "10")),
        "dataset": marker,
        "rows": [asdict(r) for r in bench.rows],
        "failures": bench.failures,
        "table": table,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{scale.name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(table)
    print(f"\nresults: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    minutes = (finished - started).total_seconds() / 60
    _log(f"done in {minutes:.1f} min; {len(bench.failures)} failure(s)")
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
