"""Benchmark groups of the later layers: serving lookup, scoring, MLflow, drift, the whole demo.

Each group measures its cases (``cases_online``, ``cases_models``, ``cases_demo``), checks
what can be checked (equal scores, the same trained model) and appends its rows to the run.
"""

from typing import Any

import numpy as np

from benchmarks.bench import Bench, Row, _compared
from benchmarks.harness import Measurement

MODELS = "benchmarks.cases_models"
MONITORING = "benchmarks.cases_monitoring"
ONLINE = "benchmarks.cases_online"
DEMO = "benchmarks.cases_demo"
THROUGHPUT = 0.7  # project throughput >= 0.7 x the bare predict's
GIB = 1024


def _ms(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {_ms(seconds)}" for name, seconds in parts.items())


def _models(bench: Bench) -> Measurement:
    """The scale's champion (and the training set, model and MLflow store it came from)."""
    if "models" not in bench.cache:
        bench.cache["models"] = bench.measure(f"{MODELS}:models_prepare", repeats=1)
    return bench.cache["models"]


def _scoring_day(bench: Bench, repeats: int | None = None) -> Measurement:
    if "scoring_day" not in bench.cache:
        measured = bench.measure(f"{MODELS}:scoring_day_project", repeats=repeats)
        bench.cache["scoring_day"] = measured
    return bench.cache["scoring_day"]


# --- online lookup through the serving path ---------------------------------------------------


def group_lookup_serving(bench: Bench) -> None:
    # Not niced, like `lookup`: a latency tail measures the scheduler as much as the code.
    calls = list(bench.scale.lookup_calls)
    result = bench.measure(f"{ONLINE}:lookup_serving", repeats=1, nice=0, calls=calls)
    info = result.info
    # "100 entities" is the batch path (one `lookup_many`, what `POST /score/batch` does); the
    # same 100 transactions looked up one by one (100 `/score` requests) go in the notes.
    one_by_one = (
        f"; one by one (100 `lookup` calls, as 100 `/score` requests): p99 "
        f"{info['p99_100'] * 1000:.2f} ms, p50 {info['p50_100'] * 1000:.2f} ms; bare Feast "
        f"`get_online_features` of 100 rows: p99 {info['feast_batch_100']['p99'] * 1000:.2f} ms"
    )
    for key, limit, what, extra in (
        (1, 0.001, "1 entity (`OnlineFeatures.lookup`, a `/score` request", ""),
        (
            "100_batch",
            0.015,
            "100 entities (one `OnlineFeatures.lookup_many` of 100 transactions, what "
            "`POST /score/batch` does",
            one_by_one,
        ),
    ):
        p50, p99 = info[f"p50_{key}"], info[f"p99_{key}"]
        bench.rows.append(
            Row(
                name=f"online lookup through the serving path, {what}: two feature views + "
                "request features; warm, `gc.freeze()`), p99",
                baseline="—",
                target=f"p99 ≤ {limit * 1000:g} ms",
                project_seconds=p99,
                peak_mb=result.peak_mb,
                met=p99 <= limit,
                notes=f"p50 {p50 * 1000:.2f} ms, {info[f'calls_{key}']} calls; on a CPU: "
                f"p99 {info[f'cpu_p99_{key}'] * 1000:.2f} ms; {info[f'waited_calls_{key}']} "
                f"calls waited > 0.5 ms for a CPU{extra}",
                details=info,
            )
        )


# --- batch scoring ----------------------------------------------------------------------------


def group_scoring(bench: Bench) -> None:
    prepared = _models(bench)
    # At least 3 repetitions at every scale: the first pays MLflow's cold start (~0.7 s).
    day = _scoring_day(bench, repeats=max(3, bench.scale.repeats))
    # Cheap calls (milliseconds) on a shared machine: best of more repetitions.
    step = bench.measure(f"{MODELS}:scoring_step_project", repeats=15)
    bare = bench.measure(f"{MODELS}:scoring_bare", repeats=15)
    folder = bench.paths.work / "models"
    scores = {name: np.load(folder / f"scores_{name}.npy") for name in ("day", "step", "bare")}
    for name in ("day", "step"):
        if not np.array_equal(scores[name], scores["bare"]):
            diff = float(np.max(np.abs(scores[name] - scores["bare"])))
            raise AssertionError(f"scores of `{name}` differ from bare predict (max {diff:.3g})")
    rows = day.info["rows"]
    equal = f"identical scores on all {rows:,} transactions (project, model step, bare)"
    for measured, name in (
        (
            day,
            f"batch scoring, one day ({rows:,} tx) with the champion "
            f"(v{day.info['version']}, {prepared.info['best_iteration']} trees): what "
            "`ml/transaction_scores` runs (silver read, champion from MLflow, point-in-time "
            "features, `score`, Pandera, Delta write)",
        ),
        (step, "same, the model step alone (`score`: `model_matrix` + predict)"),
    ):
        row = _compared(
            name,
            "bare `Booster.predict` on the prepared matrix",
            f"throughput ≥ {THROUGHPUT}× bare predict",
            measured,
            bare,
            1 / THROUGHPUT,
            equivalence=equal,
        )
        assert row.ratio is not None
        row.notes = (
            f"{1 / row.ratio:.2f}× the bare throughput: {rows / measured.seconds:,.0f} vs "
            f"{rows / bare.seconds:,.0f} tx/s"
        )
        if "parts" in measured.info:
            row.notes += f"; {_parts(measured.info['parts'])}"
        bench.rows.append(row)


# --- MLflow logging of the training step ------------------------------------------------------


def group_mlflow(bench: Bench) -> None:
    prepared = _models(bench)
    log = bench.measure(f"{MODELS}:mlflow_log_project")
    evaluation = bench.measure(f"{MODELS}:model_evaluation_project")
    # lgb.train runs on both cores: the most load-sensitive case; best of up to 3 at medium.
    bare = bench.measure(f"{MODELS}:train_bare", budget=4 * bench.scale.budget)
    folder = bench.paths.work / "models"
    ours, theirs = np.load(folder / "valid_project.npy"), np.load(folder / "valid_bare.npy")
    best = prepared.info["best_iteration"]
    if bare.info["best_iteration"] != best or not np.array_equal(ours, theirs):
        raise AssertionError(
            f"bare lgb.train differs: {bare.info['best_iteration']} vs {best} trees, max score "
            f"difference {float(np.max(np.abs(ours - theirs))):.3g} on the validation split"
        )
    rows = bare.info["train_rows"]
    equivalence = f"same {best} trees: identical validation predictions ({ours.size:,} rows)"
    row = _compared(
        "MLflow logging of the training step (`log_training`: run, params, metrics, "
        "calibration, reference distribution, importance chart, lineage, model + signature, "
        f"registration, alias); model of {rows:,} sampled rows, {best} trees",
        "bare `lgb.train`, same params, rows, weights and early stopping",
        "≤ 10 % of training time",
        log,
        bare,
        0.10,
        equivalence=equivalence,
    )
    assert row.ratio is not None
    store = min(log.info["configure_fresh_store"])
    train_model = prepared.info["parts"]["train_model"]
    row.notes = (
        f"{row.ratio:.0%} of the bare train; + {_ms(store)} creating a fresh store (first run "
        f"only); `train_model` (sampling, matrices, train) {_ms(train_model)}"
    )
    bench.rows.append(row)
    held_out = evaluation.info["held_out_rows"]
    row = _compared(
        f"same step, the held-out evaluation it logs (`evaluate_training`: scores of "
        f"{held_out:,} validation + test rows, metrics of both, calibration, monitoring "
        "reference, importance; no MLflow call)",
        "bare `lgb.train`, same as above",
        "— (reported: model evaluation, not logging)",
        evaluation,
        bare,
        float("inf"),
        equivalence=equivalence,
    )
    assert row.ratio is not None
    row.met = None
    row.notes = (
        f"{row.ratio:.0%} of the bare train; logging and evaluation together "
        f"{(log.seconds + evaluation.seconds) / bare.seconds:.0%}"
    )
    bench.rows.append(row)


# --- drift report of one day ------------------------------------------------------------------


def group_drift(bench: Bench) -> None:
    _models(bench)
    _scoring_day(bench, repeats=1)  # the day's scores, in the scratch lake
    # At least 3 repetitions (cheap): the first pays MLflow's cold start (~0.7 s).
    drift = bench.measure(f"{MONITORING}:drift_day_project", repeats=max(3, bench.scale.repeats))
    info = drift.info
    parts = info["parts"]
    compute = parts["read"] + parts["profile"] + parts["statistics"]
    bench.rows.append(
        Row(
            name=f"drift report, one day ({info['rows']:,} scored tx, all {info['features']} "
            "model features + the score): what `monitoring/feature_drift` runs, compute",
            baseline="—",
            target="≤ 1 s of compute",
            project_seconds=compute,
            peak_mb=drift.peak_mb,
            met=compute <= 1.0,
            notes=f"compute = read {_ms(parts['read'])} + MLflow profile "
            f"{_ms(parts['profile'])} + statistics {_ms(parts['statistics'])}; then HTML "
            f"report {_ms(parts['html'])} ({info['report_kb']} KB), Pandera + Delta write "
            f"{_ms(parts['write'])}",
            details={"times": drift.times, **info},
        )
    )


# --- the whole demo ---------------------------------------------------------------------------


def group_demo(bench: Bench) -> None:
    result = bench.measure(f"{DEMO}:demo_case", repeats=1, scale=bench.scale.name)
    info: dict[str, Any] = result.info
    total, steps, in_runs = info["total"], info["steps_seconds"], info["runs_seconds"]
    simulating = info["phases"].get("simulating", 0.0)  # compute, but not a Dagster step
    overhead = total - steps - simulating
    phases = {k: v for k, v in info["phases"].items() if k != "demo_total"}
    medium, large = bench.scale.name == "medium", bench.scale.name == "large"
    bench.rows.append(
        Row(
            name="whole `make demo` after install: `ml-platform demo` (simulate → ingest → "
            "features → train → score → monitor 7 days → warehouse → summary), child process"
            + (f", {bench.scale.demo_days} days" if bench.scale.demo_days else ""),
            baseline="—",
            target="≤ 3 min at medium (the demo's config)",
            project_seconds=total,
            peak_mb=result.peak_mb,
            met=total <= 180 if medium else None,
            notes=_parts(phases),
            details=info,
        )
    )
    bench.rows.append(
        Row(
            name="same, orchestration overhead: total wall time vs the compute inside its "
            "Dagster steps",
            baseline=f"sum of the step durations of its {len(info['runs'])} runs (event log) "
            "+ the simulation",
            target="overhead ≤ 15 % of the total",
            project_seconds=total,
            baseline_seconds=steps + simulating,
            ratio=total / (steps + simulating) if steps else None,
            peak_mb=result.peak_mb,
            met=overhead / total <= 0.15,
            notes=f"overhead {overhead / total:.0%} = {overhead:.1f} s: creating the runs "
            f"{info['created_to_start_total']:.1f} s ({info['planned_events_total']:.0f} "
            f"'planned' events), imports, definitions, summary "
            f"{total - in_runs - info['created_to_start_total'] - simulating:.1f} s, inside "
            f"runs between steps {in_runs - steps:.1f} s; simulation {simulating:.1f} s counts "
            "as compute",
        )
    )
    bench.rows.append(
        Row(
            name="peak memory, whole pipeline (`make demo`, one process)",
            baseline="—",
            target="≤ 6 GiB at 10M (large)",
            peak_mb=result.peak_mb,
            met=result.peak_mb <= 6 * GIB if large else None,
            notes=f"{result.peak_mb / GIB:.1f} GiB; resident peak by phase: "
            + ", ".join(
                f"{phase} {mb / GIB:.1f} GiB" for phase, mb in info["phase_peak_mb"].items()
            ),
        )
    )
