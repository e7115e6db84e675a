"""The production Dagster instance on a real PostgreSQL: runs and materializations persist there.

The instance is built from the ``storage`` section of ``deploy/production/dagster.yaml`` as it
is (its ``env:`` references resolved from the environment), so the test exercises the file
production uses, not a copy of it. The Kubernetes run launcher is left out: it needs a cluster.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from ml_platform.runner import run_ingestion
from ml_platform.settings import Settings
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing
from ml_platform_tests.local_servers import Postgres

BRONZE = dg.AssetKey(["bronze", "transactions"])


@pytest.fixture
def postgres_instance(
    postgres: Postgres, production_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    postgres.create_database("dagster")
    for name, value in {
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": "dagster",
        "DAGSTER_PG_USERNAME": postgres.user,
        "DAGSTER_PG_PASSWORD": postgres.password,
    }.items():
        monkeypatch.setenv(name, value)
    production = yaml.safe_load((production_dir / "dagster.yaml").read_text())
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": production["storage"], "telemetry": {"enabled": False}})
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def test_a_materialization_is_recorded_in_postgres(
    postgres: Postgres, postgres_instance: dg.DagsterInstance, settings: Settings, landing: Path
) -> None:
    assert type(postgres_instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(postgres_instance.run_storage).__name__ == "PostgresRunStorage"
    write_landing(
        landing,
        "transactions/2026-01-02.csv",
        "\n".join([TX_HEADER, tx_row("t1"), tx_row("t2", amount="40.00")]) + "\n",
    )

    outcomes = run_ingestion(settings, postgres_instance)

    assert outcomes and all(outcome.success for outcome in outcomes)
    # Read back through a second instance: the events live in the database, not in memory.
    home = Path(postgres_instance.root_directory)
    with dg.DagsterInstance.from_config(str(home)) as reader:
        event = reader.get_latest_materialization_event(BRONZE)
        assert event is not None
        assert event.asset_materialization.partition == "2026-01-02"
        assert event.asset_materialization.metadata["dagster/row_count"].value == 2
        run = reader.get_run_by_id(event.run_id)
        assert run is not None and run.is_success
    # ...and straight from PostgreSQL, with the password from the environment.
    with postgres.connect("dagster") as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM event_logs WHERE asset_key = %s AND dagster_event_type = %s",
            (BRONZE.to_string(), "ASSET_MATERIALIZATION"),
        )
        assert cursor.fetchone()[0] >= 1
