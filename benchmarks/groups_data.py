"""Benchmark groups of the data layers, and the HTTP serving row.

Ingestion, the feature computations (full history, the pandas sample, one new day,
validation, the real ``feature_job``) with their cases in ``cases``; training-set retrieval,
online-store materialization and online lookup with theirs in ``cases_feast``; and the scoring
service over HTTP (``serving``). Each group measures its cases, checks what can be checked
(equal values, equal row counts) and appends its rows to the run; ``run.GROUPS`` names them.
"""

from benchmarks.bench import Bench, Row, _compared
from benchmarks.compare import assert_equivalent

FEAST = "benchmarks.cases_feast"
SERVING = "benchmarks.serving"


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
    # A one-day computation is cheap: best of 3 at every scale, like the other cheap calls
    # (the large scale measures its expensive cases once). The first repetition runs in a
    # fresh process (module imports on first use, memory first touched); the JSON keeps
    # every repetition's time and the row's notes give the first.
    one = bench.measure("features_one_day", repeats=3)
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
    if row.ratio is not None:
        first = one.times[0] / full.seconds
        row.notes = f"{row.ratio:.1%} of the full recompute (first repetition {first:.1%})"
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

    rows = bench.measure(f"{FEAST}:retrieval_entities", repeats=1, rows=bench.scale.retrieval_rows)
    project = bench.measure(f"{FEAST}:retrieval_project")
    base = bench.measure(f"{FEAST}:retrieval_feast", repeats=1)
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
    prepared = bench.measure(
        f"{FEAST}:materialize_prepare", repeats=1, entities=bench.scale.online_entities
    )
    entities = prepared.info["customers"] + prepared.info["merchants"]
    # The project's side: materialize_latest into the project's SQLite online store (what the
    # online_store asset runs). The baseline: Feast's stock materialize into Feast's stock
    # SqliteOnlineStore, on a scratch config (the project's config names its own store now).
    # Both report online entities per feature view.
    project = bench.measure(f"{FEAST}:materialize_project_store")
    feast = bench.measure(f"{FEAST}:materialize_feast_stock", repeats=1)
    plain = bench.measure(f"{FEAST}:materialize_sqlite")
    if project.info["online_entities"] != feast.info["online_entities"]:
        raise AssertionError(
            f"online stores differ: {project.info['online_entities']} vs "
            f"{feast.info['online_entities']}"
        )
    if sum(project.info["written"].values()) != sum(project.info["online_entities"].values()):
        raise AssertionError(f"materialize_latest counted {project.info['written']} written")
    if plain.info["rows"] != entities:
        raise AssertionError(f"bulk insert wrote {plain.info['rows']} rows, not {entities}")
    row = _compared(
        f"online-store materialization, {entities:,} entities (`materialize_latest`, "
        "project's SQLite online store)",
        "Feast stock `materialize` into Feast's stock SqliteOnlineStore",
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
    calls = bench.scale.lookup_calls
    result = bench.measure(f"{FEAST}:lookup_online", repeats=1, nice=0, calls=list(calls))
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
    prepared = bench.measure(f"{SERVING}:serving_prepare", repeats=1)
    # Not niced (the service inherits the niceness): a latency tail measures the scheduler.
    requests = bench.scale.serving_requests
    result = bench.measure(
        f"{SERVING}:serving_load", repeats=1, nice=0, requests=requests, rate=200
    )
    info = result.info
    shares = ", ".join(f"{k} {v:.0%}" for k, v in info["shares"].items())
    bench.rows.append(
        Row(
            name=f"online scoring over HTTP (`ml-platform serve`, loopback), {requests:,} single "
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
