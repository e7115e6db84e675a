"""The warehouse built from the tiny world: documented, complete, consistent with its sources."""

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.registry import model_aliases
from ml_platform.lib.training.tracking import configure
from ml_platform.lib.warehouse.build import build_warehouse, missing_comments
from ml_platform.lib.warehouse.catalog import SCHEMAS, TABLES
from ml_platform.lib.warehouse.storage import connect_read_only
from ml_platform_tests.warehouse_world import MATURITY_DAYS, World

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def con(world: World) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect_read_only(world.warehouse)
    yield connection
    connection.close()


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]


def test_every_table_and_column_is_the_catalogs_with_its_comment(
    con: duckdb.DuckDBPyConnection,
) -> None:
    tables = con.execute(
        "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() ORDER BY 1"
    ).fetchall()
    assert dict(tables) == {t.qualified: t.comment for t in TABLES}
    assert {t.split(".")[0] for t, _ in tables} == set(SCHEMAS)
    for table in TABLES:
        columns = con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [table.schema, table.name],
        ).fetchall()
        assert columns == [(c.name, c.sql_type, c.comment) for c in table.columns], table.qualified
        assert all(comment for _, _, comment in columns)
    assert missing_comments(con) == []


def test_missing_comments_are_found(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.execute("CREATE SCHEMA lake")
    con.execute("CREATE TABLE lake.t (a INTEGER, b INTEGER)")
    con.execute("COMMENT ON COLUMN lake.t.a IS 'documented'")
    assert missing_comments(con) == ["lake.t", "lake.t.b"]
    con.close()


def test_lake_tables_are_copied_whole(world: World, con: duckdb.DuckDBPyConnection) -> None:
    lake = DeltaLake(world.settings.lake_uri)
    for table in TABLES:
        if "/" not in table.source:
            continue
        expected = lake.read(table.source).height
        assert expected > 0, table.source
        count = con.execute(f"SELECT count(*) FROM {table.qualified}").fetchall()[0][0]
        assert count == expected, table.qualified
    copied = _frame(con, "SELECT * FROM lake.transactions ORDER BY transaction_id")
    silver = lake.read("silver/transactions").sort("transaction_id").select(copied.columns)
    assert copied.equals(silver.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("Etc/UTC")))


def test_model_versions_and_runs_mirror_the_registry(
    world: World, con: duckdb.DuckDBPyConnection
) -> None:
    tracking = configure(world.settings.mlflow_tracking_uri, world.settings.mlflow_artifact_root)
    aliases = model_aliases(tracking, world.settings.model_name)
    versions = _frame(con, "SELECT * FROM ml.model_versions").to_dicts()
    assert [v["version"] for v in versions] == ["1"]
    [version] = versions
    assert set(version["aliases"].split(",")) == {a for a, v in aliases.items() if v == "1"}
    assert version["is_champion"] and version["gate_outcome"] == "promoted"
    tags = tracking.client().get_model_version(world.settings.model_name, "1").tags
    assert version["test_roc_auc"] == pytest.approx(float(tags["test_roc_auc"]))
    assert 0.5 < version["validation_roc_auc"] <= 1
    [run] = _frame(con, "SELECT * FROM ml.training_runs").to_dicts()
    assert run["run_id"] == version["run_id"] and run["registered_version"] == "1"
    assert run["status"] == "FINISHED" and run["maturity_days"] == MATURITY_DAYS
    assert run["train_rows"] > run["train_frauds"] > 0
    assert run["trained_as_of"] == version["trained_as_of"]


def test_matured_kpis_agree_with_monitored_performance(
    world: World, con: duckdb.DuckDBPyConnection
) -> None:
    kpis = _frame(con, "SELECT * FROM analytics.daily_kpis")
    performance = _frame(con, "SELECT * FROM monitoring.model_performance")
    joined = performance.join(kpis, left_on="cohort_date", right_on="event_date")
    assert joined.height == performance.height > 0
    assert joined["precision"].drop_nulls().len() > 0  # some cohorts had alerts to judge
    for row in joined.iter_rows(named=True):
        assert row["matured"], row["cohort_date"]
        assert (row["alerts_right"], row["true_alerts"] is not None) == (row["alerts"], True)
        assert row["matured_frauds"] == row["frauds"]
        assert row["alert_precision"] == pytest.approx(row["precision"], nan_ok=True) or (
            row["alert_precision"] is None and row["precision"] is None
        )
    # Matured: every day up to the newest minus the maturity; the rest is null, not low.
    newest_matured = world.last_day - dt.timedelta(days=MATURITY_DAYS)
    assert kpis.filter(pl.col("matured"))["event_date"].max() == newest_matured
    immature = kpis.filter(~pl.col("matured"))
    assert immature.height == MATURITY_DAYS
    assert immature["alert_precision"].is_null().all()
    assert immature["matured_fraud_rate"].is_null().all()
    assert kpis.filter(pl.col("matured"))["true_alerts"].sum() > 0  # some alerts were right


def test_breakdowns_add_up_to_the_daily_totals(con: duckdb.DuckDBPyConnection) -> None:
    for table, column in (
        ("daily_kpis_by_channel", "channel"),
        ("daily_kpis_by_category", "merchant_category"),
    ):
        mismatches = con.execute(
            f"""
            SELECT count(*) FROM analytics.daily_kpis AS d JOIN (
                SELECT event_date, sum(transactions) AS tx, sum(alerts) AS alerts,
                       sum(matured_frauds) AS frauds, count(DISTINCT {column}) AS groups
                FROM analytics.{table} GROUP BY event_date
            ) AS b USING (event_date)
            WHERE d.transactions <> b.tx OR d.alerts <> b.alerts
               OR d.matured_frauds IS DISTINCT FROM b.frauds OR b.groups < 2
            """
        ).fetchall()[0][0]
        assert mismatches == 0, table


def test_build_info_records_the_clock_and_the_sources(
    world: World, con: duckdb.DuckDBPyConnection
) -> None:
    [info] = _frame(con, "SELECT * FROM analytics.build_info").to_dicts()
    end_of_last_day = dt.datetime.combine(world.last_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert info["data_as_of"] == end_of_last_day
    assert info["label_maturity_days"] == MATURITY_DAYS
    versions = json.loads(info["source_versions"])
    assert versions["silver/transactions"] == DeltaLake(world.settings.lake_uri).version(
        "silver/transactions"
    )
    assert info["dagster_run_id"]


def test_an_empty_platform_builds_an_empty_documented_warehouse(tmp_path: Path) -> None:
    from ml_platform.settings import Settings

    settings = dataclasses.replace(Settings.under(tmp_path / "data"))
    build = build_warehouse(settings)
    assert set(build.row_counts.values()) == {0, 1}  # build_info only
    assert build.data_as_of is None
    assert not (tmp_path / "data" / "mlflow").exists()  # reading MLflow created no store
    con = connect_read_only(build.path)
    assert missing_comments(con) == []
    con.close()
