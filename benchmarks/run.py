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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.compare import assert_equivalent
from benchmarks.config import RESULTS_DIR, Paths, Scale, current_scale, paths_for
from benchmarks.dataset import ensure_dataset
from benchmarks.harness import Measurement, measure


@dataclass
class Row:
    """One line of the results table (``ratio`` is always project / baseline)."""

    name: str
    baseline: str
    target: str
    project_seconds: float | None = None
    baseline_seconds: float | None = None
    ratio: float | None = None
    peak_mb: float | None = None
    baseline_peak_mb: float | None = None
    met: bool | None = None
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One run: the scale, its dataset, the parameters every case gets, the rows so far."""

    def __init__(self, scale: Scale, paths: Paths, marker: dict[str, Any]) -> None:
        self.scale = scale
        self.paths = paths
        self.marker = marker
        self.rows: list[Row] = []
        self.failures: list[str] = []
        self.cache: dict[str, Measurement] = {}
        mod = {"small": 1, "medium": 10}.get(scale.name, 50)
        self.params: dict[str, Any] = {
            "root": str(paths.root),
            "work": str(paths.work),
            "first": marker["first_day"],
            "last": marker["last_day"],
            "sample_mod": mod,
        }

    @property
    def days(self) -> int:
        return int(self.marker["days"])

    def measure(
        self, case: str, repeats: int | None = None, nice: int | None = None, **extra: Any
    ) -> Measurement:
        ref = case if ":" in case else f"benchmarks.cases:{case}"
        _log(f"  measuring {ref.rpartition(':')[2]}")
        result = measure(
            ref,
            {**self.params, **extra},
            self.paths.work / "logs",
            repeats=self.scale.repeats if repeats is None else repeats,
            budget=self.scale.budget,
            nice=nice,
        )
        times = ", ".join(f"{t:.2f}" for t in result.times)
        _log(f"    best {result.seconds:.3f} s of [{times}], peak {result.peak_mb:.0f} MB")
        return result

    def work_frame(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.paths.work / f"{name}.parquet")


def _ratio(project: float, baseline: float) -> float:
    return project / baseline if baseline > 0 else float("inf")


def _compared(
    name: str,
    baseline: str,
    target: str,
    project: Measurement,
    base: Measurement,
    limit: float,
    **details: Any,
) -> Row:
    ratio = _ratio(project.seconds, base.seconds)
    return Row(
        name=name,
        baseline=baseline,
        target=target,
        project_seconds=project.seconds,
        baseline_seconds=base.seconds,
        ratio=ratio,
        peak_mb=project.peak_mb,
        baseline_peak_mb=base.peak_mb,
        met=ratio <= limit,
        details={
            "project_times": project.times,
            "baseline_times": base.times,
            "project_setup_mb": project.setup_mb,
            "project_info": project.info,
            "baseline_info": base.info,
            **details,
        },
    )


# --- groups -----------------------------------------------------------------------------------


def group_ingest(bench: Bench) -> None:
    project = bench.measure("ingest_project")
    base = bench.measure("ingest_baseline")
    rows = project.info["rows_accepted"]
    if rows != base.info["rows"] or project.info["rows_quarantined"]:
        raise AssertionError(f"ingestion row counts differ: {project.info} vs {base.info}")
    bench.rows.append(
        _compared(
            f"landing CSV → bronze Delta: `ingest_source`, {rows:,} rows in "
            f"{project.info['files']} files",
            "bare `pl.read_csv` + `write_deltalake`",
            "≤ 1.5× baseline",
            project,
            base,
            1.5,
        )
    )


def group_features(bench: Bench) -> None:
    project = bench.measure("customer_full_project")
    base = bench.measure("customer_full_duckdb")
    keys = ["customer_id", "feature_date"]
    checked = assert_equivalent(
        "DuckDB customer features",
        bench.work_frame("customer_full_project"),
        bench.work_frame("customer_full_duckdb"),
        keys,
    )
    transactions = bench.marker["transactions"]
    bench.rows.append(
        _compared(
            f"full-history customer features, {transactions:,} tx, {bench.days} days "
            "(`customer_daily_features`, reads silver Delta)",
            "DuckDB window SQL, same windows, same Delta files",
            "≤ 1.0× DuckDB",
            project,
            base,
            1.0,
            equivalence={**checked, "sample": f"customer_id % {bench.params['sample_mod']} == 0"},
        )
    )


def group_pandas(bench: Bench) -> None:
    cutoff = bench.scale.pandas_sample_customers
    project = bench.measure("customer_sample_project", customer_cutoff=cutoff)
    base = bench.measure("customer_sample_pandas", repeats=1, customer_cutoff=cutoff)
    checked = assert_equivalent(
        "pandas customer features",
        bench.work_frame("customer_sample_project"),
        bench.work_frame("customer_sample_pandas"),
        ["customer_id", "feature_date"],
    )
    row = _compared(
        f"customer features, {project.info['transactions']:,}-tx sample, in memory",
        "pandas groupby-rolling (straightforward, vectorised)",
        "≥ 25× faster (ratio ≤ 0.04)",
        project,
        base,
        1 / 25,
        equivalence=checked,
    )
    row.notes = f"{1 / row.ratio:.1f}× faster" if row.ratio else ""
    bench.rows.append(row)


def group_incremental(bench: Bench) -> None:
    one = bench.measure("features_one_day")
    full = bench.measure("features_full")
    bench.cache["features_full"] = full
    for table in ("customer", "merchant"):
        alone = bench.work_frame(f"one_day_{table}")
        within = bench.work_frame(f"full_{table}")
        if not alone.equals(within):
            raise AssertionError(f"{table}: the newest day alone differs from the full recompute")
    row = _compared(
        f"one new day on top of {bench.days - 1} days of history (customer + merchant features)",
        "full recompute of every day",
        "≤ 5 % of the full recompute",
        one,
        full,
        0.05,
        equivalence="the day computed alone equals the same day of the full recompute (exact)",
    )
    row.notes = f"{row.ratio:.0%} of the full recompute" if row.ratio is not None else ""
    bench.rows.append(row)


def group_validation(bench: Bench) -> None:
    check = bench.measure("validate_features")
    full = bench.cache.get("features_full") or bench.measure("features_full")
    row = _compared(
        f"Pandera validation of both feature tables ({check.info['rows']:,} rows)",
        "computing the same tables (full recompute)",
        "≤ 5 % of the computation",
        check,
        full,
        0.05,
    )
    row.notes = f"{row.ratio:.0%} of the computation" if row.ratio is not None else ""
    bench.rows.append(row)


def group_feature_job(bench: Bench) -> None:
    one = bench.measure("feature_job_one_day", repeats=1)
    full = bench.measure("feature_job_full", repeats=1)
    row = _compared(
        "same, through the real `feature_job` (Dagster in-process: compute, Pandera, Delta "
        "write, Feast export, online store)",
        "`feature_job` over every day (what `make features` runs)",
        "≤ 5 % of the full run",
        one,
        full,
        0.05,
    )
    row.notes = f"{row.ratio:.0%} of the full run" if row.ratio is not None else ""
    bench.rows.append(row)
    _vacuum_features(bench)


def _vacuum_features(bench: Bench) -> None:
    """Drop the files the jobs' rewrites replaced, so the cached lake does not grow per run."""
    from deltalake import DeltaTable

    for table in ("features/customer_daily", "features/merchant_daily"):
        DeltaTable(str(bench.paths.lake / table)).vacuum(
            retention_hours=0, enforce_retention_duration=False, dry_run=False
        )


def group_retrieval(bench: Bench) -> None:
    from polars.testing import assert_frame_equal

    rows = bench.measure("retrieval_entities", repeats=1, rows=bench.scale.retrieval_rows)
    project = bench.measure("retrieval_project")
    base = bench.measure("retrieval_feast", repeats=1)
    ours, theirs = bench.work_frame("retrieval_project"), bench.work_frame("retrieval_feast")
    if ours.columns != theirs.columns:
        raise AssertionError(f"retrieval columns differ: {ours.columns} vs {theirs.columns}")
    assert_frame_equal(
        ours.sort("transaction_id"),
        theirs.cast(ours.schema).sort("transaction_id"),
        check_exact=False,
        rel_tol=1e-12,
        abs_tol=0.0,
    )
    bench.rows.append(
        _compared(
            f"training-set retrieval, {rows.info['rows']:,} entity rows "
            "(`historical_features`, service `fraud_detection`)",
            "Feast `get_historical_features`, duckdb offline store, same service",
            "≤ 1.0× baseline, identical values",
            project,
            base,
            1.0,
            equivalence=f"identical values on all {ours.height:,} rows × {ours.width} columns",
        )
    )


def group_materialize(bench: Bench) -> None:
    prepared = bench.measure("materialize_prepare", repeats=1, entities=bench.scale.online_entities)
    entities = prepared.info["customers"] + prepared.info["merchants"]
    project = bench.measure("materialize_project")
    feast = bench.measure("materialize_feast", repeats=1)
    plain = bench.measure("materialize_sqlite")
    if project.info["online_entities"] != feast.info["online_entities"]:
        raise AssertionError(
            f"online stores differ: {project.info['online_entities']} vs "
            f"{feast.info['online_entities']}"
        )
    if plain.info["rows"] != entities:
        raise AssertionError(f"bulk insert wrote {plain.info['rows']} rows, not {entities}")
    row = _compared(
        f"online-store materialization, {entities:,} entities (`materialize_latest`)",
        "Feast stock `materialize` into the same sqlite store",
        "≤ 10 s",
        project,
        feast,
        float("inf"),
        entities=prepared.info,
    )
    row.met = project.seconds <= 10.0
    bench.rows.append(row)
    bench.rows.append(
        _compared(
            "same (stretch)",
            "plain sqlite bulk insert of the same rows (one row per entity)",
            "stretch: ≤ 5× the bulk insert",
            project,
            plain,
            5.0,
        )
    )


def group_lookup(bench: Bench) -> None:
    # Not niced: a latency tail measures the scheduler as much as the code, and this case is
    # one thread for ~15 s.
    result = bench.measure("lookup_online", repeats=1, nice=0)
    for size, limit in ((1, 0.001), (100, 0.015)):
        p50, p99 = result.info[f"p50_{size}"], result.info[f"p99_{size}"]
        noun = "entity" if size == 1 else "entities"
        bench.rows.append(
            Row(
                name=f"online lookup, {size} {noun} (`get_online_features`, service resolved "
                "once, in-process), p99",
                baseline="—",
                target=f"p99 ≤ {limit * 1000:g} ms",
                project_seconds=p99,
                peak_mb=result.peak_mb,
                met=p99 <= limit,
                notes=f"p50 {p50 * 1000:.2f} ms, {result.info[f'calls_{size}']} calls",
                details=result.info,
            )
        )


def group_serving(bench: Bench) -> None:
    prepared = bench.measure("benchmarks.serving:serving_prepare", repeats=1)
    # Not niced (the service inherits the niceness): a latency tail measures the scheduler.
    result = bench.measure(
        "benchmarks.serving:serving_load", repeats=1, nice=0, requests=4000, rate=200
    )
    info = result.info
    shares = ", ".join(f"{k} {v:.0%}" for k, v in info["shares"].items())
    bench.rows.append(
        Row(
            name="online scoring over HTTP (`ml-platform serve`, loopback), 4,000 single "
            "transactions at 200/s, shadow on, p99",
            baseline="—",
            target="p99 ≤ 10 ms",
            project_seconds=info["p99"],
            peak_mb=result.peak_mb,
            met=info["p99"] <= 0.010 and info["errors"] == 0,
            notes=f"p50 {info['p50'] * 1000:.2f} ms, {info['throughput']:.0f} req/s, "
            f"{info['errors']} errors; mean {info['mean_ms']:.2f} ms = {shares}",
            details={**info, "model": prepared.info},
        )
    )


def group_pipeline(bench: Bench) -> None:
    root = bench.paths.work / "pipeline"
    result = bench.measure(
        "benchmarks.dataset:pipeline_case",
        repeats=1,
        root=str(root),
        landing=str(bench.paths.landing),
        dagster_home=str(root / "dagster_home"),
    )
    shutil.rmtree(root, ignore_errors=True)
    info = result.info
    bench.rows.append(
        Row(
            name="pipeline so far: landing → bronze → silver → features → Feast (the Dagster "
            "jobs of `make demo`, in-process)",
            baseline="—",
            target="none yet (whole `make demo` pending: later layers)",
            project_seconds=result.seconds,
            peak_mb=result.peak_mb,
            notes=f"ingestion {info['ingestion_seconds']} s, features {info['features_seconds']} s"
            f"; simulation {bench.marker.get('simulate_seconds')} s (at dataset build)",
            details=info,
        )
    )


PENDING = [
    ("batch scoring", "pending: models layer"),
    ("MLflow logging", "pending: models layer"),
    ("drift report", "pending: monitoring layer"),
    ("whole `make demo` (simulate → … → scores, drift)", "pending: models + monitoring layers"),
]

GROUPS: dict[str, Callable[[Bench], None]] = {
    "ingest": group_ingest,
    "features": group_features,
    "pandas": group_pandas,
    "incremental": group_incremental,
    "validation": group_validation,
    "feature_job": group_feature_job,
    "retrieval": group_retrieval,
    "materialize": group_materialize,
    "lookup": group_lookup,
    "serving": group_serving,
    "pipeline": group_pipeline,
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
    if not wanted:
        bench.rows += [Row(name=n, baseline="—", target=t) for n, t in PENDING]

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
