"""One tiny trained world for every serving test, and the real service as a subprocess.

The world goes through the real pipeline (simulate → ingest → features → train → batch score),
built once per session under a temp dir:

* silver holds days D1…DL; features (and so the online store) are built for D1…DL-1 only,
  so the online store holds the snapshot of DL-1, stamped at the start of DL;
* the champion (v1) batch-scores day DL, which reads that same snapshot (day D reads the
  snapshot of D-1): online and batch see the same features for DL's transactions;
* v2, registered as ``challenger``, is v1 cut to its first half of trees: a different model
  for shadow scoring and the alias switch.
"""

import dataclasses
import datetime as dt
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import lightgbm as lgb
import mlflow
import mlflow.lightgbm
import numpy as np
import polars as pl
import pytest

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.lib.training.registry import CHALLENGER, load_model
from ml_platform.lib.training.tracking import Tracking, configure, using
from ml_platform.runner import run_features, run_ingestion, run_scoring, run_training
from ml_platform.serving.config import REQUEST_LOG_TABLE
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed

CONFIG = SimulationConfig(days=24, customers=700, merchants=120, seed=5)
SCORED_DAY = CONFIG.start + dt.timedelta(days=CONFIG.days - 1)  # DL: batch-scored, not featurized
SNAPSHOT_STAMP = dt.datetime.combine(SCORED_DAY, dt.time(), tzinfo=dt.UTC)  # of DL-1


@dataclasses.dataclass(frozen=True)
class World:
    """The built world: its settings, data root and registered versions."""

    settings: Settings
    data_dir: Path
    champion: str
    challenger: str

    def tracking(self) -> Tracking:
        return configure(self.settings.mlflow_tracking_uri, self.settings.mlflow_artifact_root)

    def booster(self, version: str) -> lgb.Booster:
        return load_model(self.tracking(), self.settings.model_name, version)

    def env(self) -> dict[str, str]:
        """The environment that points the platform at this world (and nothing else)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ML_PLATFORM_", "MLFLOW_", "DAGSTER_HOME"))
        }
        env["ML_PLATFORM_DATA_DIR"] = str(self.data_dir)
        env["ML_PLATFORM_FEAST_DIR"] = self.settings.feast_dir
        env["ML_PLATFORM_LAKE_URI"] = self.settings.lake_uri
        return env


def _register_half_model(world_tracking: Tracking, name: str, version: str) -> str:
    """Register ``version`` cut to its first half of trees as a new version; return it."""
    booster = load_model(world_tracking, name, version)
    half = max(1, booster.num_trees() // 2)
    smaller = lgb.Booster(model_str=booster.model_to_string(num_iteration=half))
    with using(world_tracking), mlflow.start_run(experiment_id=world_tracking.experiment_id):
        info = mlflow.lightgbm.log_model(
            smaller,
            name="model",
            registered_model_name=name,
            pip_requirements=[f"lightgbm=={lgb.__version__}", f"numpy=={np.__version__}"],
        )
    new = str(info.registered_model_version)
    world_tracking.client().set_registered_model_alias(name, CHALLENGER, new)
    return new


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("serving_world")
    settings = Settings.under(root / "data", label_maturity_days=4)
    simulate_landed(CONFIG, settings)
    home = root / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        assert all(o.success for o in run_ingestion(settings, instance))
        last_featurized = SCORED_DAY - dt.timedelta(days=1)
        outcome = run_features(settings, instance, last=last_featurized)
        assert outcome is not None and outcome.success
        assert run_training(settings, instance).success
        outcome = run_scoring(settings, instance, first=SCORED_DAY, last=SCORED_DAY)
        assert outcome is not None and outcome.success
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    challenger = _register_half_model(tracking, settings.model_name, "1")
    yield World(settings, root / "data", champion="1", challenger=challenger)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Service:
    """A running ``ml-platform serve`` process."""

    process: subprocess.Popen
    url: str
    client: httpx.Client
    log_path: Path

    def score(self, transaction: dict[str, Any]) -> httpx.Response:
        return self.client.post("/score", json=transaction)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then wait; whether the service shut down gracefully (lifespan completed).

        uvicorn re-raises the signal it handled once its shutdown is done, so a graceful exit
        is -SIGTERM as well as 0.
        """
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code in (0, -signal.SIGTERM) and "Application shutdown complete" in self.output()


def start_service(world: World, log_dir: Path, **serving: str) -> Service:
    """Start the real service on a free loopback port; wait (bounded) until /health is ok."""
    port = free_port()
    env = world.env()
    env["ML_PLATFORM_SERVING_PORT"] = str(port)
    env.update({f"ML_PLATFORM_SERVING_{k.upper()}": v for k, v in serving.items()})
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ml_platform.cli", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_dir,
        )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=10.0)
    service = Service(process, url, client, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"service exited {process.returncode}:\n{service.output()}")
        try:
            if client.get("/health").status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    service.stop()
    raise AssertionError(f"service not healthy within 90 s:\n{service.output()}")


def wait_for(condition: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Call ``condition`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def transaction_body(row: dict[str, Any]) -> dict[str, Any]:
    """A request body from a silver (or batch scores) row."""
    stamp = row["event_timestamp"]
    return {
        "transaction_id": row["transaction_id"],
        "customer_id": row["customer_id"],
        "merchant_id": row["merchant_id"],
        "amount": row["amount"],
        "merchant_category": row["merchant_category"],
        "channel": row["channel"],
        "country": row["country"],
        "event_timestamp": stamp.astimezone(dt.UTC).isoformat(),
    }


@pytest.fixture(scope="session")
def scored_day(world: World) -> pl.DataFrame:
    """Day DL as batch scoring scored it, with the raw transaction fields from silver."""
    lake = DeltaLake(world.settings.lake_uri)
    scores = lake.read("ml/transaction_scores").filter(pl.col("event_date") == SCORED_DAY)
    silver = lake.read("silver/transactions").select(
        "transaction_id", "merchant_category", "channel", "country"
    )
    return scores.join(silver, on="transaction_id").sort("event_timestamp", "transaction_id")


def known_transaction(scored_day: pl.DataFrame) -> dict[str, Any]:
    """The request body of the first transaction of the day whose customer has a snapshot."""
    row = scored_day.filter(pl.col("tx_count_30d").is_not_null()).row(0, named=True)
    return transaction_body(row)


def same_value(a: Any, b: Any) -> bool:
    """Equal feature values or scores: both missing, or equal as floats within rounding."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def logged_rows(world: World, ids: set[str]) -> pl.DataFrame:
    """The request log's rows of these transaction ids (empty before the first write)."""
    lake = DeltaLake(world.settings.lake_uri)
    if not lake.exists(REQUEST_LOG_TABLE):
        return pl.DataFrame()
    return lake.read(REQUEST_LOG_TABLE).filter(pl.col("transaction_id").is_in(list(ids)))
