"""``ml-platform``: simulate landing data, ingest it, run the demo, print a summary."""

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from pathlib import Path

from ml_platform.settings import Settings

_SOURCES = ("transactions", "chargebacks", "customers")
# The demo lands a few malformed rows (~5 in 10,000) so the quarantine has something to show.
DEMO_DEFECT_RATE = 0.0005


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ml-platform`` console script."""
    parser = argparse.ArgumentParser(prog="ml-platform", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write simulated landing files")
    _add_simulation_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    ingest = commands.add_parser("ingest", help="ingest new or changed landing files now")
    ingest.set_defaults(handler=_ingest)

    features = commands.add_parser(
        "features", help="build features and the feature store for every day silver holds"
    )
    features.set_defaults(handler=_features)

    train = commands.add_parser(
        "train", help="train a challenger, log it to MLflow, run the champion gate"
    )
    train.set_defaults(handler=_train)

    score = commands.add_parser("score", help="score every day silver holds with the champion")
    score.set_defaults(handler=_score)

    demo = commands.add_parser(
        "demo", help="simulate the default data (if the landing folder is empty) and run it all"
    )
    _add_simulation_arguments(demo, defect_rate=DEMO_DEFECT_RATE)
    demo.add_argument(
        "--regenerate", action="store_true", help="simulate again even if landing files exist"
    )
    demo.set_defaults(handler=_demo)

    drift = commands.add_parser(
        "drift-demo",
        help="play a drift scenario day by day: detection, retraining request, gate decision",
    )
    drift.add_argument("--scenario", default="amount_inflation", help="simulator drift scenario")
    drift.set_defaults(handler=_drift_demo)

    summary = commands.add_parser("summary", help="print what the lake holds")
    summary.set_defaults(handler=lambda args, settings: _print_summary(settings))

    args = parser.parse_args(argv)
    # Dagster labels single-run backfill policies "beta"; that is a deliberate choice here.
    warnings.filterwarnings("ignore", message=".*currently in beta.*")
    # Feast flags on-demand views "experimental"; ours are measured and tested.
    warnings.filterwarnings("ignore", message="On demand feature view is an experimental")
    warnings.filterwarnings("ignore", message="The ``noload`` loader strategy is deprecated")
    return int(args.handler(args, Settings.from_env()) or 0)


def _add_simulation_arguments(parser: argparse.ArgumentParser, defect_rate: float = 0.0) -> None:
    from ml_platform.lib.simulation import SCENARIOS, SimulationConfig

    defaults = SimulationConfig()
    parser.add_argument("--start", type=dt.date.fromisoformat, default=defaults.start)
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--merchants", type=int, default=defaults.merchants)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--scenario", choices=SCENARIOS, default=defaults.scenario)
    parser.add_argument(
        "--onset-day", type=int, default=None, help="0-based day the scenario starts"
    )
    parser.add_argument("--format", choices=("csv", "parquet"), default=defaults.file_format)
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=defect_rate,
        help=f"share of malformed rows, for the quarantine to catch (default {defect_rate})",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: the landing folder")
    parser.add_argument("--truth-out", type=Path, default=None, help="default: data/ground_truth")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.lib.simulation import SimulationConfig, simulate

    config = SimulationConfig(
        start=args.start,
        days=args.days,
        customers=args.customers,
        merchants=args.merchants,
        seed=args.seed,
        scenario=args.scenario,
        onset_day=args.onset_day,
        file_format=args.format,
        defect_rate=args.defect_rate,
    )
    out = args.out or Path(settings.landing_dir)
    truth = args.truth_out or Path(settings.ground_truth_dir)
    started = time.perf_counter()
    try:
        summary = simulate(config, out, truth, progress=not args.no_progress)
    except ValueError as error:
        print(f"ml-platform simulate: {error}", file=sys.stderr)
        return 2
    print(
        f"simulated {summary.transactions:,} transactions, {summary.chargebacks:,} chargebacks, "
        f"{summary.customers:,} customer rows over {summary.days} days "
        f"({summary.start} … {summary.end}) in {time.perf_counter() - started:.1f} s"
    )
    auc = "n/a" if summary.oracle_roc_auc is None else f"{summary.oracle_roc_auc:.3f}"
    print(f"fraud rate {summary.fraud_rate:.2%}, oracle ROC-AUC {auc}; landing files in {out}")
    return 0


def _run(runner: str, settings: Settings, **kwargs: object) -> int:
    """Run ``ml_platform.runner.<runner>`` against the instance in ``DAGSTER_HOME``.

    Returns:
        0 when every run it executed succeeded (or there was nothing to run), else 1.
    """
    import dagster as dg

    from ml_platform import runner as runners

    runners.ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        outcome = getattr(runners, runner)(settings, instance, log=print, **kwargs)
    outcomes = outcome if isinstance(outcome, list) else [outcome]
    return 0 if all(o is None or o.success for o in outcomes) else 1


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    return _run("run_ingestion", settings)


def _features(args: argparse.Namespace, settings: Settings) -> int:
    return _run("run_features", settings)


def _train(args: argparse.Namespace, settings: Settings) -> int:
    return _run("run_training", settings)


def _score(args: argparse.Namespace, settings: Settings) -> int:
    return _run("run_scoring", settings)


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.runner import silver_date_range

    span = silver_date_range(settings)
    if span is None:
        print("no silver transactions yet: nothing to monitor")
        return 0
    first = max(span[0], span[1] - dt.timedelta(days=MONITORED_DAYS - 1))
    return _run("run_monitoring", settings, first=first, last=span[1])


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    landing = Path(args.out or settings.landing_dir)
    has_files = any((landing / s).is_dir() and any((landing / s).iterdir()) for s in _SOURCES)
    if args.regenerate or not has_files:
        print("== 1/7 simulating landing data")
        if _simulate(args, settings):
            return 2
    else:
        print(f"== 1/7 landing files already in {landing} (use --regenerate to simulate again)")
    steps = [
        ("2/7 ingesting: landing → bronze → silver", _ingest),
        ("3/7 features: silver → daily customer and merchant snapshots → Feast", _features),
        ("4/7 training: training set → LightGBM challenger (MLflow) → champion gate", _train),
        ("5/7 scoring: every transaction scored by the champion", _score),
        (f"6/7 monitoring: drift and performance reports, last {MONITORED_DAYS} days", _monitor),
    ]
    status = 0
    for title, handler in steps:
        print(f"== {title}")
        step = time.perf_counter()
        failed = handler(args, settings)
        print(f"   done in {time.perf_counter() - step:.1f} s" + (" (FAILED)" if failed else ""))
        status = status or failed
        if failed:
            break
    print("== 7/7 summary")
    _print_summary(settings)
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
    return status


MONITORED_DAYS = 7


def _print_summary(settings: Settings) -> int:
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.lake.inventory import table_summaries
    from ml_platform.runner import ensure_dagster_home

    lake = DeltaLake(settings.lake_uri)
    rows = table_summaries(lake)
    width = max(len(r.table) for r in rows)
    print(f"\n{'table'.ljust(width)}  {'rows':>12}  version")
    for r in rows:
        count = f"{r.rows:,}" if r.rows is not None else "—"
        version = "" if r.version is None else str(r.version)
        print(f"{r.table.ljust(width)}  {count:>12}  {version}")
    quarantine = next((r for r in rows if r.table == "bronze/quarantine"), None)
    if quarantine and quarantine.detail:
        print(f"\nquarantined rows by source and reason:\n{quarantine.detail}")
    _print_checks_and_lookup(settings)
    _print_model_summary(settings)
    _print_monitoring_summary(settings)
    print(
        "\nwhere things are:\n"
        f"  landing files     {settings.landing_dir}\n"
        f"  Delta lake        {settings.lake_uri}   (read with polars.read_delta)\n"
        f"  ground truth      {settings.ground_truth_dir}\n"
        f"  Dagster instance  {ensure_dagster_home()}\n"
        f"  Feast repository  {settings.feast_repo_dir}   (make feast)\n"
        f"  Feast stores      {settings.feast_dir}\n"
        f"  MLflow            {settings.mlflow_tracking_uri}   (make mlflow → http://127.0.0.1:5000)\n"
        f"  reports (HTML)    {settings.reports_dir}   (open in a browser)\n"
        "\nnext: `make dev`, then open http://127.0.0.1:3000 (Assets → the graph, by group)"
    )
    return 0


def _print_checks_and_lookup(settings: Settings) -> None:
    import dagster as dg
    import polars as pl

    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.runner import check_statuses, ensure_dagster_home

    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        statuses = check_statuses(settings, instance)
    counts = {s: list(statuses.values()).count(s) for s in sorted(set(statuses.values()))}
    print("\nasset checks: " + ", ".join(f"{n} {s.lower()}" for s, n in counts.items()))
    for name, status in statuses.items():
        if status not in ("PASSED", "NOT_RUN"):
            print(f"  {status.lower():<8} {name}")

    lake = DeltaLake(settings.lake_uri)
    if not (lake.exists(CUSTOMER_DAILY.name) and lake.exists(MERCHANT_DAILY.name)):
        return
    from ml_platform.lib.feature_store.lookup import sample_online_lookup
    from ml_platform.lib.feature_store.store import feature_store

    newest = lake.scan(CUSTOMER_DAILY.name).select(pl.col("feature_date").max()).collect().item()
    customers = (
        lake.scan(CUSTOMER_DAILY.name)
        .filter(pl.col("feature_date") == newest, pl.col("tx_count_30d") > 0)
        .select("customer_id")
        .head(3)
        .collect()
        .to_series()
        .to_list()
    )
    merchants = (
        lake.scan(MERCHANT_DAILY.name)
        .filter(pl.col("feature_date") == newest)
        .select("merchant_id")
        .head(len(customers))
        .collect()
        .to_series()
        .to_list()
    )
    try:
        sample = sample_online_lookup(feature_store(settings), customers, merchants)
    except Exception as error:  # the summary must not fail because the store is not built
        print(f"\nonline lookup unavailable: {error}")
        return
    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_cols=-1,
        tbl_width_chars=120,
    ):
        print(f"\nsample online lookup (feature service fraud_detection, snapshot {newest}):")
        print(sample)


def _print_model_summary(settings: Settings) -> None:
    """Champion, its metrics against the simulator's oracle, and what it scored."""
    import polars as pl

    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.training.registry import current_champion
    from ml_platform.lib.training.tracking import configure

    truth = Path(settings.ground_truth_dir) / "summary.json"
    oracle = json.loads(truth.read_text()).get("oracle_roc_auc") if truth.exists() else None
    if oracle is not None:
        print(f"\nsimulated data: oracle ROC-AUC {oracle:.4f} (the ceiling any model can reach)")
    if (
        not settings.mlflow_tracking_uri.startswith("sqlite:///")
        or not Path(settings.mlflow_tracking_uri.removeprefix("sqlite:///")).exists()
    ):
        return
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    version = current_champion(tracking, settings.model_name)
    if version is None:
        print("no champion model yet")
        return
    tags = tracking.client().get_model_version(settings.model_name, version).tags
    auc = float(tags.get("test_roc_auc", "nan"))
    ratio = f" = {auc / oracle:.1%} of the oracle" if oracle else ""
    print(f"champion: {settings.model_name} v{version}, test ROC-AUC {auc:.4f}{ratio}")
    print(f"  load it: mlflow.pyfunc.load_model('models:/{settings.model_name}@champion')")
    lake = DeltaLake(settings.lake_uri)
    if lake.exists("ml/transaction_scores"):
        scored = (
            lake.scan("ml/transaction_scores")
            .select(pl.len().alias("rows"), pl.col("flagged").sum().alias("flagged"))
            .collect()
            .row(0, named=True)
        )
        share = scored["flagged"] / max(scored["rows"], 1)
        print(
            f"scored transactions: {scored['rows']:,}, flagged {scored['flagged']:,} ({share:.2%})"
        )


def _print_monitoring_summary(settings: Settings) -> None:
    """The newest drift and performance reports."""
    import polars as pl

    from ml_platform.lib.lake.delta import DeltaLake

    lake = DeltaLake(settings.lake_uri)
    if lake.exists("monitoring/feature_drift"):
        drift = lake.read("monitoring/feature_drift")
        newest = drift.get_column("event_date").max()
        day = drift.filter(pl.col("event_date") == newest, pl.col("kind") != "score")
        judged = day.filter(pl.col("judged"))
        worst = day.sort("psi", descending=True).row(0, named=True)
        verdict = (
            f"{judged.get_column('drifted').sum()} of {judged.height} features drifted"
            if judged.height
            else f"not judged: {worst['reason']}"
        )
        print(
            f"drift {newest}: {verdict}; worst PSI {worst['psi']:.3f} ({worst['feature']}); "
            f"report {Path(settings.reports_dir) / 'feature_drift' / f'{newest}.html'}"
        )
    if lake.exists("monitoring/model_performance"):
        row = lake.read("monitoring/model_performance").sort("report_date").row(-1, named=True)
        auc = row["window_roc_auc"]
        print(
            f"performance reported {row['report_date']} on {row['cohort_date']} (matured): "
            f"trailing ROC-AUC {auc if auc is None else round(auc, 4)}, "
            f"alert rate {row['window_alert_rate'] or 0:.2%}, degraded={row['degraded']}"
        )


def _drift_demo(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.drift_demo import play

    return play(settings, args.scenario)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
