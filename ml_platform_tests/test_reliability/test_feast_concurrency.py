"""Two processes applying or materializing the Feast repo at once: nothing lost, nothing older.

Inside Dagster both Feast assets share the pool ``feast``, but two processes outside it (the
``ml-platform features`` command while the daemon runs, two deployments on one disk) still
meet on the same registry and online store. The library functions serialize them with a file
lock next to the registry; these tests run real second interpreters against one store.
"""

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from feast.feature_view import DUMMY_ENTITY_NAME

from ml_platform.lib.feature_store.export import export_days
from ml_platform.lib.feature_store.store import (
    apply_if_changed,
    feature_repo,
    feature_store,
    offline_dir,
)
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, FEATURE_DATE, MERCHANT_DAILY
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.settings import PROJECT_ROOT, Settings
from ml_platform_tests.test_lib.test_feature_store.snapshots import snapshot_rows

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.filterwarnings("ignore:On demand feature view is an experimental feature"),
]

WORKER = [sys.executable, "-m", "ml_platform_tests.test_reliability.feast_workers"]
DAYS = [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)]
CUSTOMERS = list(range(1, 41))
MERCHANTS = list(range(100, 112))
HOLD_SECONDS = 2.5


def _start(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*WORKER, *arguments],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(workers: list[subprocess.Popen[str]]) -> list[str]:
    outcomes = [worker.communicate(timeout=120) for worker in workers]
    codes = [worker.returncode for worker in workers]
    assert codes == [0] * len(workers), [(out, err[-3000:]) for out, err in outcomes]
    return [out for out, _ in outcomes]


def _publish(lake: DeltaLake, settings: Settings, days: list[dt.date]) -> dict[str, pl.DataFrame]:
    """Write and export snapshots of ``days`` (each day's values distinct), as the assets do."""
    import random

    published = {}
    for table, ids in ((CUSTOMER_DAILY, CUSTOMERS), (MERCHANT_DAILY, MERCHANTS)):
        frames = [snapshot_rows(table, ids, day, random.Random(day.toordinal())) for day in days]
        frame = pl.concat(frames)
        lake.replace(table.name, frame, None, [FEATURE_DATE])
        export_days(lake, table, days, offline_dir(settings))
        published[table.view_name] = frame
    return published


def _online(settings: Settings, view: str, key: str, ids: list[int]) -> pl.DataFrame:
    """The online event time and one feature of each entity (nulls when not online)."""
    feature = {CUSTOMER_DAILY.view_name: "tx_count_1d", MERCHANT_DAILY.view_name: None}[view]
    table = CUSTOMER_DAILY if view == CUSTOMER_DAILY.view_name else MERCHANT_DAILY
    probe = feature or table.features[0].name
    served = (
        feature_store(settings)
        .get_online_features(features=[f"{view}:{probe}"], entity_rows=[{key: i} for i in ids])
        .to_dict(include_event_timestamps=True)
    )
    return pl.DataFrame(
        {key: served[key], "value": served[probe], "event_timestamp": served[f"{probe}__ts"]}
    )


def _seconds(snapshot: pl.DataFrame) -> int:
    """The (single) event time of a day's snapshot, in epoch seconds as Feast serves it."""
    return snapshot["event_timestamp"].dt.epoch("s").unique().item()


def _expected_names(settings: Settings) -> set[str]:
    return {obj.name for obj in feature_repo(settings).objects()}


def _registered_names(settings: Settings) -> set[str]:
    store = feature_store(settings)
    registry = store.registry
    project = store.project
    names = {
        *(e.name for e in registry.list_entities(project, allow_cache=False)),
        *(s.name for s in registry.list_data_sources(project, allow_cache=False)),
        *(v.name for v in registry.list_feature_views(project, allow_cache=False)),
        *(v.name for v in registry.list_on_demand_feature_views(project, allow_cache=False)),
        *(s.name for s in registry.list_feature_services(project, allow_cache=False)),
    }
    return names - {DUMMY_ENTITY_NAME}  # the placeholder entity Feast registers itself


def test_two_runs_at_once_lose_no_object_and_never_regress_a_value(tmp_path: Path) -> None:
    """Two processes apply a fresh registry and materialize at once, one of them a day behind.

    Both start on a fresh registry with days 1-2 exported. Both compare the definitions with
    the registry and reach ``apply``: unguarded, both apply everything at once (a UNIQUE
    constraint crash in Feast's SQL registry, or the definitions applied twice). Then the
    ``older`` run chooses its rows (day 2; nothing online yet) and pauses before writing; day 3
    is published and the ``newer`` run materializes it. Unguarded, ``newer`` writes day 3 and
    ``older`` then overwrites it with day 2. With the writers' lock, the second process waits
    at the lock: one applies, the other finds nothing to apply; ``newer`` finds day 2 online
    and writes day 3 over it.
    """
    data = tmp_path / "data"
    settings = Settings.under(data)
    lake = DeltaLake(settings.lake_uri)
    _publish(lake, settings, DAYS[:2])
    sync = tmp_path / "sync"
    sync.mkdir()
    workers = [_start(role, str(data), str(sync), str(HOLD_SECONDS)) for role in ("older", "newer")]
    (sync / "go").touch()
    deadline = time.monotonic() + 120
    while not (sync / "read").exists():  # older has chosen its rows (or died trying)
        if workers[0].poll() is not None or time.monotonic() > deadline:
            workers[1].kill()
            pytest.fail(f"the older run never chose its rows: {_finish(workers)}")
        time.sleep(0.01)
    published = _publish(lake, settings, DAYS)  # day 3 lands while older holds day-2 rows
    (sync / "day3").touch()
    outputs = _finish(workers)

    assert _registered_names(settings) == _expected_names(settings), outputs
    applied = sorted(line for out in outputs for line in out.splitlines() if "applied=" in line)
    assert applied[0] == "applied=", outputs  # one applied, the other found it done
    assert apply_if_changed(feature_store(settings), feature_repo(settings)) == []
    for table, ids in ((CUSTOMER_DAILY, CUSTOMERS), (MERCHANT_DAILY, MERCHANTS)):
        day3 = published[table.view_name].filter(pl.col(FEATURE_DATE) == DAYS[-1])
        online = _online(settings, table.view_name, table.join_key, ids)
        assert online["event_timestamp"].null_count() == 0, outputs  # every entity online
        assert online["event_timestamp"].unique().to_list() == [_seconds(day3)], outputs
        if table is CUSTOMER_DAILY:
            expected = day3.sort(table.join_key)["tx_count_1d"].to_list()
            assert online.sort(table.join_key)["value"].to_list() == expected
