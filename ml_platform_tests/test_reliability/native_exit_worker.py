"""One interpreter that touches every native library the suite uses, then exits normally.

Run as ``python -m ml_platform_tests.test_reliability.native_exit_worker <data_dir>`` against a
world prepared by ``test_interpreter_exit`` (lake folder, applied Feast store with online
values, created MLflow store). Each library is used the way the product uses it: Delta writes
and reads through ``DeltaLake`` and Polars ``scan_delta``; Arrow record batches into DuckDB;
a Feast online lookup; LightGBM train and predict; an MLflow run in SQLite; a Dagster
``materialize``. Prints ``ok`` and returns: whatever the libraries do at interpreter exit
(atexit hooks, thread pools, runtime teardown) then happens as it does at the end of a pytest
run.
"""

import datetime as dt
import sys
from pathlib import Path

import dagster as dg
import duckdb
import lightgbm as lgb
import mlflow
import numpy as np
import polars as pl
import pyarrow as pa

from ml_platform.lib.feature_store.store import feature_store
from ml_platform.lib.lake import predicates
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.tracking import configure, using
from ml_platform.settings import Settings

TABLE = "silver/exit_probe_{run}"  # one table per run: runs may overlap
CUSTOMERS = [1, 2, 3]


def delta_round_trip(lake: DeltaLake, run: int) -> pl.DataFrame:
    """Replace one day of a partitioned Delta table, then read it back two ways."""
    day = dt.date(2026, 1, 1) + dt.timedelta(days=run)
    frame = pl.DataFrame(
        {"id": [1, 2, 3], "event_date": [day] * 3, "amount": [1.5, 2.5, 3.5]},
    )
    table = TABLE.format(run=run)
    lake.replace(
        table,
        frame,
        predicates.date_range("event_date", day, day + dt.timedelta(days=1)),
        ["event_date"],
    )
    read = lake.read(table).filter(pl.col("event_date") == day)
    assert read.sort("id").equals(frame), read
    scanned = pl.scan_delta(lake.uri(table)).select(pl.len()).collect().item()
    assert scanned >= 3
    return read


def duckdb_from_arrow(frame: pl.DataFrame) -> None:
    """Arrow record batches registered in DuckDB (as the warehouse build does), queried."""
    table = frame.to_arrow()
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    connection = duckdb.connect(":memory:")
    try:
        connection.register("incoming", reader)
        total = connection.execute("select sum(amount) from incoming").fetchall()
        assert total == [(7.5,)], total
        connection.unregister("incoming")
    finally:
        connection.close()


def feast_lookup(settings: Settings) -> None:
    """An online lookup in the prepared store: every customer is served."""
    served = (
        feature_store(settings)
        .get_online_features(
            features=["customer_daily:tx_count_1d"],
            entity_rows=[{"customer_id": c} for c in CUSTOMERS],
        )
        .to_dict()
    )
    assert None not in served["tx_count_1d"], served


def lightgbm_round_trip() -> np.ndarray:
    """Train a few trees on 40 rows and predict them."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    labels = (features[:, 0] > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 2, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(features, label=labels), num_boost_round=5)
    predictions = booster.predict(features)
    assert predictions.shape == (40,)
    return predictions


def mlflow_run(settings: Settings, run: int, predictions: np.ndarray) -> None:
    """A run with a parameter and a metric in the prepared SQLite store."""
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    with using(tracking), mlflow.start_run(experiment_id=tracking.experiment_id):
        mlflow.log_param("exit_probe", run)
        mlflow.log_metric("mean_prediction", float(predictions.mean()))


@dg.asset
def exit_probe() -> dg.MaterializeResult:
    """A trivial asset."""
    return dg.MaterializeResult(metadata={"rows": 1})


def main(data_dir: str, run: str) -> None:
    """Exercise every library once, then return normally."""
    settings = Settings.under(Path(data_dir))
    frame = delta_round_trip(DeltaLake(settings.lake_uri), int(run))
    duckdb_from_arrow(frame)
    feast_lookup(settings)
    predictions = lightgbm_round_trip()
    mlflow_run(settings, int(run), predictions)
    assert dg.materialize([exit_probe]).success
    sys.stdout.write("ok\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
