"""Every example query in docs/queries/ runs on the tiny world and answers sensibly."""

import datetime as dt
from collections.abc import Callable, Iterator

import duckdb
import polars as pl
import pytest

from ml_platform.lib.warehouse.storage import connect_read_only
from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.warehouse_world import MATURITY_DAYS, World

pytestmark = pytest.mark.e2e

QUERIES = PROJECT_ROOT / "docs" / "queries"


@pytest.fixture(scope="module")
def run(world: World) -> Iterator[Callable[[str], pl.DataFrame]]:
    con = connect_read_only(world.warehouse)

    def query(name: str) -> pl.DataFrame:
        sql = (QUERIES / name).read_text()
        return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]

    yield query
    con.close()


def test_every_query_is_documented_and_tested() -> None:
    names = sorted(p.name for p in QUERIES.glob("*.sql"))
    assert names == sorted(CHECKS)
    for name in names:
        header = (QUERIES / name).read_text().splitlines()[:3]
        assert all(line.startswith("--") for line in header), name
        assert len(" ".join(header)) > 60, f"{name}: say what it answers"


def _fraud_rate_trend(frame: pl.DataFrame, world: World) -> None:
    newest_matured = world.last_day - dt.timedelta(days=MATURITY_DAYS)
    assert frame["event_date"].max() == newest_matured  # immature days left out
    assert frame.height == (newest_matured - frame["event_date"].min()).days + 1
    assert frame["fraud_rate"].is_between(0, 0.2).all() and frame["fraud_rate"].sum() > 0
    first_week = frame.head(7)
    pooled = first_week["matured_frauds"].sum() / first_week["transactions"].sum()
    assert frame["fraud_rate_7d"][6] == pytest.approx(pooled, abs=1e-5)


def _top_drifting_features(frame: pl.DataFrame, world: World) -> None:
    assert 0 < frame.height <= 15
    assert "score" not in frame["feature"].to_list()
    assert frame["worst_psi"].to_list() == sorted(frame["worst_psi"].to_list(), reverse=True)
    assert (frame["days"] <= 7).all() and (frame["drifted_days"] <= frame["days"]).all()
    assert frame["gain_share"].is_between(0, 1).all()


def _model_version_history(frame: pl.DataFrame, world: World) -> None:
    [row] = frame.to_dicts()
    assert row["version"] == "1" and "champion" in row["aliases"]
    assert row["gate_outcome"] == "promoted" and row["training_seconds"] > 0
    assert row["scored_transactions"] > 0 and 0.5 < row["test_roc_auc"] <= 1


def _alert_precision_by_channel(frame: pl.DataFrame, world: World) -> None:
    assert frame["channel"].to_list() == ["atm", "online", "pos"]
    assert (frame["true_alerts"] <= frame["alerts"]).all()
    assert (frame["true_alerts"] <= frame["frauds"]).all()
    precise = frame.filter(pl.col("alerts") > 0)
    assert precise.height > 0 and precise["alert_precision"].is_between(0, 1).all()
    assert frame["alert_rate"].is_between(0, 0.5).all()
    expected = precise["true_alerts"] / precise["alerts"]
    assert precise["alert_precision"].to_list() == pytest.approx(expected.to_list(), abs=1e-4)


def _model_performance_trend(frame: pl.DataFrame, world: World) -> None:
    assert frame.height > 0
    assert (frame["report_date"] - frame["cohort_date"]).dt.total_days().to_list() == [
        MATURITY_DAYS
    ] * frame.height
    assert frame["validation_roc_auc"].is_between(0.5, 1).all()
    assert frame["degraded"].dtype == pl.Boolean


def _warehouse_freshness(frame: pl.DataFrame, world: World) -> None:
    [row] = frame.to_dicts()
    assert row["newest_transactions"] == row["newest_scores"] == world.last_day
    assert row["newest_drift_report"] == world.last_day
    assert row["newest_matured_day"] == world.last_day - dt.timedelta(days=MATURITY_DAYS)
    assert row["data_as_of"].date() == world.last_day + dt.timedelta(days=1)


CHECKS: dict[str, Callable[[pl.DataFrame, World], None]] = {
    "fraud_rate_trend.sql": _fraud_rate_trend,
    "top_drifting_features.sql": _top_drifting_features,
    "model_version_history.sql": _model_version_history,
    "alert_precision_by_channel.sql": _alert_precision_by_channel,
    "model_performance_trend.sql": _model_performance_trend,
    "warehouse_freshness.sql": _warehouse_freshness,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_query_answers_sensibly(
    name: str, run: Callable[[str], pl.DataFrame], world: World
) -> None:
    CHECKS[name](run(name), world)


def test_queries_run_in_the_sql_prompt(world: World, capsys: pytest.CaptureFixture) -> None:
    from ml_platform.cli import main

    sql = (QUERIES / "alert_precision_by_channel.sql").read_text()
    assert main(["sql", "--path", str(world.warehouse), "-c", sql]) == 0
    out = capsys.readouterr().out
    assert "| channel" in out and "| online" in out and "(3 rows)" in out


def test_duckdb_is_the_version_the_docs_name() -> None:
    assert duckdb.__version__.startswith("2.")  # files it writes need DuckDB >= 2.0 to open
