"""The lake on an object store: the whole graph against a real S3-compatible server.

``moto``'s server mode runs in its own process on 127.0.0.1; the platform reaches it only
through the standard AWS variables and ``ML_PLATFORM_LAKE_URI=s3://…``, as in production.
"""

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from ml_platform.lib.feature_store.lookup import sample_online_lookup
from ml_platform.lib.feature_store.store import feature_repo, feature_store, offline_dir
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.lib.training.registry import model_aliases
from ml_platform.lib.training.tracking import configure
from ml_platform.lib.warehouse.catalog import LAKE_TRANSACTIONS, TRANSACTION_SCORES
from ml_platform.runner import (
    run_features,
    run_ingestion,
    run_monitoring,
    run_scoring,
    run_training,
    run_warehouse,
)
from ml_platform.settings import Settings
from ml_platform_tests.conftest import simulate_landed
from ml_platform_tests.local_servers import S3, s3_server

pytestmark = pytest.mark.e2e

CONFIG = SimulationConfig(days=24, customers=700, merchants=120, seed=5)  # as test_model_pipeline
BUCKET = "ml-platform"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    """A real S3-compatible server on 127.0.0.1 for this module."""
    with s3_server() as server:
        server.client().create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture
def aws(s3: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    """The standard AWS variables point every client at the server (nothing else does)."""
    for name, value in s3.environment.items():
        monkeypatch.setenv(name, value)
    return s3


def test_the_whole_graph_runs_with_the_lake_in_a_bucket(
    aws: S3, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    prefix = tmp_path.name  # one prefix per test: the server outlives it
    settings = Settings.under(
        tmp_path / "data",
        lake_uri=f"s3://{BUCKET}/{prefix}/lake",
        mlflow_artifact_root=f"s3://{BUCKET}/{prefix}/mlflow",
        reports_dir=f"s3://{BUCKET}/{prefix}/reports",
        label_maturity_days=4,
    )
    simulate_landed(CONFIG, settings)

    assert all(o.success for o in run_ingestion(settings, instance))
    assert run_features(settings, instance).success
    assert run_training(settings, instance).success
    scoring = run_scoring(settings, instance)
    assert scoring is not None and scoring.success
    monitoring = run_monitoring(settings, instance)
    assert monitoring is not None and monitoring.success
    assert run_warehouse(settings, instance).success

    # Nothing of the lake, the Feast exports, the MLflow artifacts or the reports landed on
    # local disk.
    data = tmp_path / "data"
    for local in ("lake", "feast/offline", "mlflow/artifacts", "reports"):
        assert not (data / local).exists(), local

    keys = aws.keys(BUCKET, f"{prefix}/")
    for table in (
        "bronze/transactions",
        "silver/transactions",
        "features/customer_daily",
        "features/merchant_daily",
        "ml/training_set",
        "ml/transaction_scores",
        "monitoring/feature_drift",
    ):
        assert any(k.startswith(f"{prefix}/lake/{table}/_delta_log/") for k in keys), table
    repo = feature_repo(settings)
    assert offline_dir(settings) == f"s3://{BUCKET}/{prefix}/lake/_feast_offline"
    for table in repo.tables:
        exports = [
            k for k in keys if k.startswith(f"{prefix}/lake/_feast_offline/{table.view_name}/")
        ]
        assert len(exports) == CONFIG.days, table.view_name  # one Parquet file per day
    assert any(k.startswith(f"{prefix}/mlflow/") and k.endswith("MLmodel") for k in keys)
    for report in ("feature_drift", "model_performance"):
        assert any(
            k.startswith(f"{prefix}/reports/{report}/") and k.endswith(".html") for k in keys
        ), report

    # Read back through Polars (the lake's own reader) ...
    lake = DeltaLake(settings.lake_uri)
    silver = lake.read("silver/transactions")
    scores = pl.scan_delta(f"{settings.lake_uri}/ml/transaction_scores").collect()
    assert silver.height > 10_000
    assert scores.height == silver.height
    assert scores["transaction_id"].sort().equals(silver["transaction_id"].sort())
    # ... and through DuckDB: the analysts' warehouse is built from the bucket (DuckDB itself
    # would need its httpfs extension, a download at run time, to read s3:// directly).
    with duckdb.connect(settings.warehouse_path, read_only=True) as warehouse:
        for table, expected in ((LAKE_TRANSACTIONS, silver), (TRANSACTION_SCORES, scores)):
            count = warehouse.execute(f"SELECT count(*) FROM {table.qualified}").fetchone()
            assert count == (expected.height,), table.qualified

    # The champion's artifacts were read back from the bucket to score; the online store was
    # filled from the exports in the bucket.
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    assert model_aliases(tracking, settings.model_name)["champion"] == "1"
    newest = silver.sort("event_timestamp").tail(1)
    online = sample_online_lookup(
        feature_store(settings), [int(newest["customer_id"][0])], [int(newest["merchant_id"][0])]
    )
    assert online["tx_count_30d"][0] >= 1


_WRITER = textwrap.dedent(
    """
    import sys

    import polars as pl

    from ml_platform.lib.lake.delta import DeltaLake

    lake, worker = DeltaLake(sys.argv[1]), int(sys.argv[2])
    for i in range(6):
        lake.append("bronze/events", pl.DataFrame({"worker": [worker], "i": [i]}))
    """
)


def test_concurrent_commits_to_one_table_in_a_bucket_all_land(aws: S3, tmp_path: Path) -> None:
    # delta-rs commits on S3 with a conditional PUT (If-None-Match) of the next log entry: of
    # two writers racing for one version, one gets "already exists" and retries on top. No
    # lock service, and nothing lost.
    uri = f"s3://{BUCKET}/{tmp_path.name}/lake"
    lake = DeltaLake(uri)
    lake.ensure("bronze/events", pl.Schema({"worker": pl.Int64(), "i": pl.Int64()}))
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, uri, str(worker)]) for worker in range(3)
    ]
    assert [w.wait(timeout=180) for w in writers] == [0, 0, 0]
    events = lake.read("bronze/events")
    assert events.height == 18
    assert events.unique().height == 18
    assert lake.version("bronze/events") == 18  # one commit each, none overwritten


def test_an_unsafe_rename_setting_is_refused(
    aws: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
    with pytest.raises(ValueError, match="AWS_S3_ALLOW_UNSAFE_RENAME"):
        DeltaLake(f"s3://{BUCKET}/{tmp_path.name}/lake")
    monkeypatch.delenv("AWS_S3_ALLOW_UNSAFE_RENAME")
    DeltaLake(f"s3://{BUCKET}/{tmp_path.name}/lake")
    with pytest.raises(ValueError, match="allow_unsafe_rename"):
        DeltaLake(
            f"s3://{BUCKET}/{tmp_path.name}/lake", storage_options={"allow_unsafe_rename": "true"}
        )
    DeltaLake(str(tmp_path / "lake"))  # a local lake commits by atomic rename anyway
