"""``ml-platform``: simulate landing data, ingest it, run the demo, print a summary."""

import argparse
import datetime as dt
import sys
import time
import warnings
from pathlib import Path

from ml_platform.settings import Settings
from ml_platform.summary import print_summary

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

    serve = commands.add_parser(
        "serve", help="online scoring service: POST /score, GET /health, GET /metrics"
    )
    serve.add_argument("--host", default=None, help="default ML_PLATFORM_SERVING_HOST, 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default ML_PLATFORM_SERVING_PORT")
    serve.set_defaults(handler=_serve)

    promote = commands.add_parser(
        "promote", help="point the champion alias at a model version (rollback: the previous one)"
    )
    promote.add_argument("--version", required=True, help="registered version, e.g. 3")
    promote.add_argument("--alias", default="champion", help="alias to move (default champion)")
    promote.set_defaults(handler=_promote)

    warehouse = commands.add_parser(
        "warehouse", help="rebuild the analysts' DuckDB warehouse now (safe while it is open)"
    )
    warehouse.add_argument(
        "--catalog", action="store_true", help="print its schemas, tables and columns (markdown)"
    )
    warehouse.set_defaults(handler=_warehouse)

    sql = commands.add_parser("sql", help="read-only SQL prompt on the warehouse (make sql)")
    sql.add_argument("-c", "--command", default=None, help="run these statements and exit")
    sql.add_argument("--path", type=Path, default=None, help="default: the warehouse setting")
    sql.set_defaults(handler=_sql)

    summary = commands.add_parser("summary", help="print what the lake holds")
    summary.set_defaults(handler=lambda args, settings: print_summary(settings))

    lineage = commands.add_parser(
        "lineage", help="print the asset lineage as a Mermaid diagram (the README's picture)"
    )
    lineage.set_defaults(handler=_lineage)

    args = parser.parse_args(argv)
    # Dagster labels single-run backfill policies "beta"; that is a deliberate choice here.
    warnings.filterwarnings("ignore", message=".*currently in beta.*")
    # Feast flags on-demand views "experimental"; ours are measured and tested.
    warnings.filterwarnings("ignore", message="On demand feature view is an experimental")
    warnings.filterwarnings("ignore", message="The ``noload`` loader strategy is deprecated")
    return int(args.handler(args, Settings.from_env()) or 0)


def _lineage(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.definitions import build_definitions
    from ml_platform.lineage import lineage_mermaid

    print(lineage_mermaid(build_definitions(settings)), end="")
    return 0


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
        print("== 1/8 simulating landing data")
        if _simulate(args, settings):
            return 2
    else:
        print(f"== 1/8 landing files already in {landing} (use --regenerate to simulate again)")
    steps = [
        ("2/8 ingesting: landing → bronze → silver", _ingest),
        ("3/8 features: silver → daily customer and merchant snapshots → Feast", _features),
        ("4/8 training: training set → LightGBM challenger (MLflow) → champion gate", _train),
        ("5/8 scoring: every transaction scored by the champion", _score),
        (f"6/8 monitoring: drift and performance reports, last {MONITORED_DAYS} days", _monitor),
        ("7/8 warehouse: lake + MLflow → DuckDB for analysts (make sql)", _warehouse),
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
    print("== 8/8 summary")
    print_summary(settings)
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
    return status


MONITORED_DAYS = 7


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from ml_platform.serving.config import ServingConfig
    from ml_platform.serving.server import serve

    try:
        config = ServingConfig.from_env(settings=settings)
    except ValueError as error:
        print(f"ml-platform serve: {error}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    serve(dataclasses.replace(config, **overrides))
    return 0


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    from mlflow.exceptions import MlflowException

    from ml_platform.lib.training.registry import move_alias
    from ml_platform.lib.training.tracking import configure

    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    try:
        previous = move_alias(tracking, settings.model_name, args.version, args.alias)
    except MlflowException as error:
        print(f"ml-platform promote: {error.message}", file=sys.stderr)
        return 2
    print(
        f"{settings.model_name}@{args.alias}: v{previous or '-'} -> v{args.version} "
        "(a running service switches at its next registry poll)"
    )
    return 0


def _warehouse(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "catalog", False):  # `demo` runs this step without the flag
        from ml_platform.lib.warehouse.catalog import catalog_markdown

        print(catalog_markdown(), end="")
        return 0
    return _run("run_warehouse", settings)


def _sql(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.lib.warehouse.prompt import main as prompt

    return prompt(args.path or Path(settings.warehouse_path), args.command, sys.stdout)


def _drift_demo(args: argparse.Namespace, settings: Settings) -> int:
    from ml_platform.drift_demo import play

    return play(settings, args.scenario)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
