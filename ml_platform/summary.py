"""What the platform holds, printed for people: the end of ``make demo``, ``ml-platform summary``.

Each part reads what the pipeline wrote (lake tables, check results, the registry, monitoring
tables) and points to where to look next.
"""

import json
from pathlib import Path

from ml_platform.settings import Settings


def print_summary(settings: Settings) -> int:
    """Print the lake's tables, checks, an online lookup, the model, monitoring, next steps."""
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
        f"  warehouse (SQL)   {settings.warehouse_path}   (make sql; examples: docs/queries/)\n"
        "\nnext: `make dev`, then open http://127.0.0.1:3000 (Assets → the graph, by group)"
        "\n      `make sql`, then e.g. `.tables` or paste docs/queries/fraud_rate_trend.sql"
        "\n      `make mlflow`, then http://127.0.0.1:5000 (model fraud_detector, its aliases)"
        "\n      `make serve`, then the curl example in README.md → Online scoring"
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
