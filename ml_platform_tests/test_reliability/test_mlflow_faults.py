"""MLflow unavailable during training, and two trainers finishing together on a fresh store."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml_platform.lib.training import registry
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.model import TrainedModel
from ml_platform.lib.training.promotion import champion_gate
from ml_platform.lib.training.tracking import Tracking, configure
from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.test_reliability.mlflow_world import (
    MARGIN,
    MODEL_NAME,
    synthetic_training_set,
    train,
)

TRAINER = [sys.executable, "-m", "ml_platform_tests.test_reliability.mlflow_world"]
pytestmark = [
    pytest.mark.reliability,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]


@pytest.fixture(scope="module")
def training_set() -> TrainingSet:
    return synthetic_training_set()


@pytest.fixture(scope="module")
def strong(training_set: TrainingSet) -> TrainedModel:
    return train(training_set, weak=False)


@pytest.fixture
def with_champion(tmp_path: Path, training_set: TrainingSet, strong: TrainedModel) -> Tracking:
    """A store whose version 1 is champion (and challenger)."""
    store = tmp_path / "mlflow"
    tracking = configure(f"sqlite:///{store / 'mlflow.db'}", str(store / "artifacts"))
    first = registry.log_training(tracking, training_set, strong, MODEL_NAME)
    gate = champion_gate(tracking, MODEL_NAME, first.version, training_set.split("test"), MARGIN)
    assert gate.promoted
    return tracking


def _versions(tracking: Tracking) -> list[str]:
    found = tracking.client().search_model_versions(f"name='{MODEL_NAME}'")
    return sorted(str(v.version) for v in found)


def test_artifact_store_gone_mid_training_registers_nothing(
    with_champion: Tracking, training_set: TrainingSet, strong: TrainedModel, tmp_path: Path
) -> None:
    tracking = with_champion
    artifacts = tmp_path / "mlflow" / "artifacts"
    shutil.move(artifacts, tmp_path / "moved")  # the volume went away...
    artifacts.write_text("not a folder")  # ...and even root cannot write under it now

    with pytest.raises(registry.RegistrationFailedError) as failure:
        registry.log_training(tracking, training_set, strong, MODEL_NAME)

    message = str(failure.value)
    assert str(artifacts.as_uri()) in message or str(artifacts) in message
    assert "No model version was registered; the aliases did not move" in message
    assert _versions(tracking) == ["1"]
    assert registry.model_aliases(tracking, MODEL_NAME) == {"champion": "1", "challenger": "1"}
    runs = tracking.client().search_runs([tracking.experiment_id], order_by=["start_time DESC"])
    assert runs[0].info.status == "FAILED"


def test_registry_gone_after_registration_leaves_no_half_registered_version(
    with_champion: Tracking,
    training_set: TrainingSet,
    strong: TrainedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The version exists, then the store fails before its tags and challenger alias."""
    tracking = with_champion

    def store_down(*args, **kwargs):
        raise MlflowException("API request failed: Connection refused")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", store_down)
    with pytest.raises(registry.RegistrationFailedError) as failure:
        registry.log_training(tracking, training_set, strong, MODEL_NAME)
    monkeypatch.undo()

    assert "Connection refused" in str(failure.value)
    assert "Version 2 was registered, then deleted; the aliases did not move" in str(failure.value)
    assert _versions(tracking) == ["1"]
    assert registry.model_aliases(tracking, MODEL_NAME) == {"champion": "1", "challenger": "1"}


def test_a_tracking_server_on_a_closed_port_fails_fast_and_clearly(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(MlflowException) as failure:
        configure(f"http://127.0.0.1:{port}", str(tmp_path / "artifacts"))
    assert time.monotonic() - started < 15
    assert f"http://127.0.0.1:{port}" in str(failure.value)
    assert "Connection refused" in str(failure.value)


def test_two_trainers_finishing_together_on_a_fresh_store(tmp_path: Path) -> None:
    """Weak and strong trainers register and gate at once: the strong one ends champion.

    Both decide while there is no champion; the strong one promotes first, so the weak one's
    decision is stale when it reaches the lock: it must be superseded and re-decided (kept).
    """
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    artifacts = str(tmp_path / "artifacts")
    sync = tmp_path / "sync"
    sync.mkdir()
    trainers = {
        kind: subprocess.Popen(
            [*TRAINER, uri, artifacts, kind, str(sync)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind in ("weak", "strong")
    }
    (sync / "go").touch()
    outputs = {kind: p.communicate(timeout=120) for kind, p in trainers.items()}
    assert all(p.returncode == 0 for p in trainers.values()), {
        kind: err[-3000:] for kind, (_, err) in outputs.items()
    }
    reported = dict(line.split(" ", 1) for line in (out.strip() for out, _ in outputs.values()))
    versions = {kind: text.split()[0] for kind, text in reported.items()}

    client = MlflowClient(uri, registry_uri=uri)
    [experiment] = [e for e in client.search_experiments() if e.name == "fraud_detection"]
    assert len(client.search_runs([experiment.experiment_id])) == 2
    assert sorted(versions.values()) == ["1", "2"]
    model = client.get_registered_model(MODEL_NAME)
    assert str(model.aliases["champion"]) == versions["strong"]
    outcomes = {kind: text.split()[1:] for kind, text in reported.items()}
    assert outcomes == {"strong": ["promoted", "1"], "weak": ["kept", "2"]}  # weak re-decided
