"""The warehouse assets: one per table, built in one step, refreshed after upstream updates,
and materialized while an analyst in another process keeps querying the warehouse."""

import subprocess
import sys
import textwrap
import time

import dagster as dg
import duckdb
import pytest

from ml_platform.definitions import build_definitions
from ml_platform.defs.analytics.assets import warehouse, warehouse_key
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.warehouse.catalog import TABLES
from ml_platform_tests.warehouse_world import World

pytestmark = pytest.mark.e2e

ANALYST = """
import duckdb, sys, time
path, stop = sys.argv[1], sys.argv[2]
con = duckdb.connect(path, read_only=True)
query = "SELECT (SELECT built_at FROM analytics.build_info), count(*) FROM lake.transactions"
old = con.execute(query).fetchall()[0]
print("ready", flush=True)
queries, started = 0, time.time()
import os
while not os.path.exists(stop):  # query the old snapshot for as long as the run goes on
    assert con.execute(query).fetchall()[0] == old
    queries += 1
con.close()
con = duckdb.connect(path, read_only=True)  # reconnect: the new build
new = con.execute(query).fetchall()[0]
print(queries, old[1] == new[1], new[0] > old[0], flush=True)
"""


def test_every_table_is_an_asset_with_its_columns_and_lineage() -> None:
    specs = {spec.key: spec for spec in warehouse.specs}
    assert list(specs) == [warehouse_key(t) for t in TABLES]
    assert warehouse.can_subset is False  # one file, one build, one swap
    for table in TABLES:
        spec = specs[warehouse_key(table)]
        schema = spec.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in table.columns]
        assert [c.description for c in schema.columns] == [c.comment for c in table.columns]
        assert "duckdb" in spec.kinds and spec.group_name == "analytics"
        assert (spec.automation_condition is None) == (table.source == "derived")
    lake_transactions = specs[dg.AssetKey(["warehouse", "lake", "transactions"])]
    assert {d.asset_key for d in lake_transactions.deps} == {
        dg.AssetKey(["silver", "transactions"])
    }
    versions = specs[dg.AssetKey(["warehouse", "ml", "model_versions"])]
    assert {d.asset_key.to_user_string() for d in versions.deps} == {
        "ml/fraud_model",
        "ml/champion",
    }


def test_an_upstream_update_requests_the_whole_warehouse(world: World) -> None:
    definitions = build_definitions(world.settings)
    selection = dg.AssetSelection.groups("analytics")
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(definitions, instance, selection)
        assert first.total_requested == 0  # nothing changed upstream: nothing to do
        instance.report_runless_asset_event(dg.AssetMaterialization(["silver", "labels"]))
        second = dg.evaluate_automation_conditions(
            definitions, instance, selection, cursor=first.cursor
        )
        fired = {r.key for r in second.results if r.true_subset.size}
        assert fired == {dg.AssetKey(["warehouse", "lake", "labels"])}
        # ... and the run it requests builds every table (one non-subsettable step).
        requested = {t for t in TABLES if second.get_num_requested(warehouse_key(t))}
        assert requested == set(TABLES)


def test_a_run_succeeds_while_an_analyst_queries_the_warehouse(world: World, tmp_path) -> None:
    stop = tmp_path / "stop"
    analyst = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(ANALYST), str(world.warehouse), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout is not None
        assert analyst.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        result = dg.materialize(
            [warehouse],
            resources={"platform": PlatformResource.from_settings(world.settings)},
        )
        elapsed = time.perf_counter() - started
        stop.touch()
        out, err = analyst.communicate(timeout=60)
    finally:
        analyst.kill()
    assert result.success
    assert analyst.returncode == 0, err
    queries, same_rows, newer = out.split()
    assert int(queries) > 0 and same_rows == "True" and newer == "True"
    # One materialization per table, with its row count and the file.
    events = {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(events) == {warehouse_key(t) for t in TABLES}
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        for table in TABLES:
            metadata = events[warehouse_key(table)]
            count = con.execute(f"SELECT count(*) FROM {table.qualified}").fetchall()[0][0]
            assert metadata["dagster/row_count"].value == count, table.qualified
            assert metadata["path"].value == str(world.warehouse)
    finally:
        con.close()
    assert elapsed < 60
