"""The MLflow tracking store and model registry on a real PostgreSQL (production backend).

``MLFLOW_TRACKING_URI=postgresql://user@host:port/db`` with the password in ``PGPASSWORD``
(read by libpq, so it never appears in the URI, the settings or the Dagster UI). The registry
tests of ``test_registry`` run again here unchanged against that store: only the ``tracking``
fixture differs.
"""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_platform.lib.training import registry
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.model import TrainedModel
from ml_platform.lib.training.tracking import Tracking, configure
from ml_platform_tests.local_servers import Postgres, postgres_server
from ml_platform_tests.test_lib.test_training.conftest import MODEL_NAME
from ml_platform_tests.test_lib.test_training.test_registry import (
    test_a_decision_against_a_stale_champion_moves_nothing,
    test_gate_promotes_first_and_better_models_and_never_a_weakened_one,
)

pytestmark = pytest.mark.filterwarnings(
    # MLflow 3.17's SQLAlchemy store, on first use in a process: not ours to fix.
    "ignore:The ``noload`` loader strategy is deprecated"
)

_DATABASES = itertools.count()
__all__ = [
    "test_a_decision_against_a_stale_champion_moves_nothing",
    "test_gate_promotes_first_and_better_models_and_never_a_weakened_one",
]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def tracking(postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tracking:
    """A fresh MLflow database on the server (one per test), artifacts under ``tmp_path``."""
    database = f"mlflow_{next(_DATABASES)}"
    postgres.create_database(database)
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    uri = postgres.sqlalchemy_uri(database)
    assert postgres.password not in uri
    return configure(uri, str(tmp_path / "artifacts"))


def test_a_registered_model_and_its_aliases_live_in_postgres(
    postgres: Postgres,
    training_set: TrainingSet,
    trained: TrainedModel,
    tracking: Tracking,
) -> None:
    run = registry.log_training(tracking, training_set, trained, MODEL_NAME, code_version="abc")

    assert registry.model_aliases(tracking, MODEL_NAME) == {"challenger": run.version}
    assert registry.load_model(tracking, MODEL_NAME, "challenger").model_to_string() == (
        trained.booster.model_to_string()
    )
    # Configuring again (every step does) finds the same experiment in the same database.
    assert configure(tracking.tracking_uri, tracking.artifact_location).experiment_id == (
        tracking.experiment_id
    )
    database = tracking.tracking_uri.rsplit("/", 1)[-1]
    with postgres.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT alias, version FROM registered_model_aliases WHERE name = %s", (MODEL_NAME,)
        )
        assert cursor.fetchall() == [("challenger", int(run.version))]
