"""Retraining from a model's recorded lineage reproduces it, even after new data landed."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake

from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_DATE, TIMESTAMP
from ml_platform.lib.training import registry
from ml_platform.lib.training.dataset import (
    LABEL,
    LABELS,
    TRANSACTIONS,
    build_training_set,
    rebuild_training_set,
)
from ml_platform.lib.training.metrics import evaluate
from ml_platform.lib.training.model import score, train_model
from ml_platform.lib.training.tracking import Tracking
from ml_platform_tests.test_lib.test_training.conftest import (
    AS_OF,
    MATURITY_DAYS,
    MODEL_NAME,
    SEED,
    SimulatedLake,
    copy_lake,
)

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


def land_new_data(lake, frame: pl.DataFrame) -> None:
    """What lands after training: late chargebacks, a recomputed feature day, a new day."""
    # A chargeback for an old, matured transaction, reported before as_of but delivered late.
    clean = frame.filter(pl.col(LABEL) == 0).row(0, named=True)
    labels = lake.read(LABELS)
    late = labels.head(1).with_columns(
        pl.lit(clean["transaction_id"]).alias("transaction_id"),
        pl.lit(AS_OF - dt.timedelta(days=2))
        .cast(labels.schema["reported_at"])
        .alias("reported_at"),
    )
    write_deltalake(lake.uri(LABELS), late, mode="append")
    # One feature day recomputed with different values (e.g. after a corrected source file).
    day = frame.get_column(TIMESTAMP).min().date() + dt.timedelta(days=10)
    snapshot = lake.scan(CUSTOMER_DAILY.name).filter(pl.col(FEATURE_DATE) == day).collect()
    lake.replace(
        CUSTOMER_DAILY.name,
        snapshot.with_columns(pl.col("tx_count_7d") * 3, pl.col("amount_sum_30d") + 1000.0),
        f"{FEATURE_DATE} = '{day.isoformat()}'",
        [FEATURE_DATE],
    )
    # New transactions of an old day (late file), old enough to count as matured.
    matured = lake.scan(TRANSACTIONS).filter(pl.col(TIMESTAMP) <= frame[TIMESTAMP].max())
    extra = matured.head(20).collect().with_columns(pl.col("transaction_id") + "-late")
    write_deltalake(lake.uri(TRANSACTIONS), extra, mode="append")


def test_retraining_from_recorded_lineage_reproduces_the_metrics(
    simulated: SimulatedLake, tmp_path: Path, tracking: Tracking
) -> None:
    lake = copy_lake(simulated, tmp_path / "lake")
    original = build_training_set(lake, simulated.repo, AS_OF, MATURITY_DAYS)
    model = train_model(original.split("train"), original.split("validation"), SEED)
    run = registry.log_training(tracking, original, model, MODEL_NAME)

    land_new_data(lake, original.frame)
    latest = build_training_set(lake, simulated.repo, AS_OF, MATURITY_DAYS)
    assert latest.lineage["delta_versions"] != original.lineage["delta_versions"]
    assert latest.frame.height == original.frame.height + 20
    assert latest.frame[LABEL].sum() == original.frame[LABEL].sum() + 1

    lineage = registry.recorded_lineage(tracking, MODEL_NAME, run.version)
    rebuilt = rebuild_training_set(lake, simulated.repo, lineage)
    assert rebuilt.frame.equals(original.frame)
    assert rebuilt.lineage == original.lineage

    again = train_model(
        rebuilt.split("train"), rebuilt.split("validation"), lineage["seed"], lineage["params"]
    )
    assert again.best_iteration == model.best_iteration
    test = rebuilt.split("test")
    metrics = evaluate(test[LABEL].to_numpy(), score(again.booster, test))
    logged = tracking.client().get_run(run.run_id).data.metrics
    for name, value in metrics.items():
        assert logged[f"test_{name}"] == pytest.approx(value, rel=1e-12)


def test_a_changed_feature_service_cannot_be_reproduced(
    simulated: SimulatedLake, training_set
) -> None:
    lineage = {**training_set.lineage, "feature_service_fingerprint": "0000000000000000"}
    with pytest.raises(ValueError, match="changed since"):
        rebuild_training_set(simulated.lake, simulated.repo, lineage)
