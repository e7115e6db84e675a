"""A small simulated lake, built once for the training tests, and models trained on it.

The lake goes through the real pipeline (simulator -> landing files -> ``run_ingestion`` ->
``run_features``), sized so that the fraud signal is learnable and the build stays short:
3,000 customers over 70 days (~217k transactions, ~1,600 chargebacks). Tests that change a
lake work on a copy (``copy_lake``); the shared one is never written after the build.
"""

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from ml_platform.lib.feature_store.definitions import FeatureRepo
from ml_platform.lib.feature_store.store import feature_repo
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.lib.training.dataset import LABEL, TrainingSet, build_training_set
from ml_platform.lib.training.model import TrainedModel, train_model
from ml_platform.lib.training.tracking import Tracking, configure
from ml_platform.runner import run_features, run_ingestion
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed

CONFIG = SimulationConfig(days=70, customers=3_000, merchants=400, seed=7)
MATURITY_DAYS = 30
AS_OF = dt.datetime.combine(CONFIG.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
SEED = 42
MODEL_NAME = "fraud_detector"


@dataclasses.dataclass(frozen=True)
class SimulatedLake:
    """The built lake and what the tests need to know about it."""

    settings: Settings
    lake: DeltaLake
    repo: FeatureRepo
    oracle_roc_auc: float


def settings_under(root: Path) -> Settings:
    return Settings.under(root / "data", partition_start=CONFIG.start)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedLake]:
    root = tmp_path_factory.mktemp("training_lake")
    settings = settings_under(root)
    simulate_landed(CONFIG, settings)
    home = root / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        assert all(outcome.success for outcome in run_ingestion(settings, instance))
        outcome = run_features(settings, instance)
        assert outcome is not None and outcome.success
    # Only tests read the ground truth; the pipeline never does.
    summary = json.loads((Path(settings.ground_truth_dir) / "summary.json").read_text())
    yield SimulatedLake(
        settings=settings,
        lake=DeltaLake(settings.lake_uri),
        repo=feature_repo(settings),
        oracle_roc_auc=float(summary["oracle_roc_auc"]),
    )


@pytest.fixture(scope="session")
def training_set(simulated: SimulatedLake) -> TrainingSet:
    return build_training_set(simulated.lake, simulated.repo, AS_OF, MATURITY_DAYS)


@pytest.fixture(scope="session")
def trained(training_set: TrainingSet) -> TrainedModel:
    return train_model(training_set.split("train"), training_set.split("validation"), SEED)


@pytest.fixture(scope="session")
def weak(training_set: TrainingSet) -> TrainedModel:
    """A deliberately weakened model: trained on shuffled labels (no signal left)."""
    train = training_set.split("train")
    shuffled = np.random.default_rng(0).permutation(train.get_column(LABEL).to_numpy())
    train = train.with_columns(pl.Series(LABEL, shuffled))
    return train_model(train, training_set.split("validation"), SEED)


@pytest.fixture
def tracking(tmp_path: Path) -> Tracking:
    """A fresh MLflow SQLite store with the project's experiment."""
    store = tmp_path / "mlflow"
    return configure(f"sqlite:///{store / 'mlflow.db'}", str(store / "artifacts"))


def copy_lake(simulated: SimulatedLake, destination: Path) -> DeltaLake:
    """A private copy of the simulated lake (Delta logs included) to write into."""
    shutil.copytree(simulated.settings.lake_uri, destination)
    return DeltaLake(str(destination))
