"""Under the real ``dagster-daemon``: a landed file flows to features and the online store.

The lake is seeded in-process with every simulated day but the last; the daemon is started;
the last day's files are dropped into the landing folder. With no other action, the landing
sensor must ingest the day (bronze → silver) and declarative automation must build its features
and refresh the online store. Scores need a champion model, which this test never trains, so
automation must not attempt them.
"""

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest

from ml_platform.defs.monitoring.sensors import ACTIVE_RUN_STATUSES
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.playback import Playback
from ml_platform.runner import run_features, run_ingestion
from ml_platform.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(960)]

CONFIG = SimulationConfig(days=8, customers=300, merchants=50, seed=11)
NEW_DAY = CONFIG.end.isoformat()
SOURCES = ("transactions", "chargebacks", "customers")
DAEMON = PROJECT_ROOT / ".venv" / "bin" / "dagster-daemon"
DEADLINE_SECONDS = 240
# The daemon's code server imports the definitions first: up to 600 s on a loaded machine
# (``code_servers.local_startup_timeout`` in deploy/local/dagster.yaml).
STARTUP_SECONDS = 600
AUTOMATION_TAG = "dagster/from_automation_condition"  # on every run automation launches
# Need a champion model (never trained here): automation must not even attempt them.
NOT_ATTEMPTED = [
    "ml/transaction_scores",
    "monitoring/feature_drift",
    "monitoring/model_performance",
]
T = TypeVar("T")
logger = logging.getLogger(__name__)


def _key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def _poll(what: str, probe: Callable[[], T | None], seconds: int = DEADLINE_SECONDS) -> T:
    """Call ``probe`` every second until it returns a value (for at most ``seconds``)."""
    deadline = time.monotonic() + seconds
    while (value := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(1)
    logger.info("%s: done", what)
    return value


def _ticks(instance: dg.DagsterInstance, sensor: str) -> list:
    """Every recorded tick of the sensor named ``sensor`` (empty before its first tick)."""
    for state in instance.all_instigator_state():
        if state.instigator_name == sensor:
            return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))
    return []


def _failures(instance: dg.DagsterInstance, run_id: str) -> str:
    """The error messages of a failed run."""
    return "\n".join(
        str(e.message or "") + str(getattr(e.dagster_event, "event_specific_data", ""))
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.is_failure
    )


def _partition_runs(instance: dg.DagsterInstance, asset: str, partition: str | None) -> set[str]:
    """Ids of the runs that materialized ``asset`` (the given partition, if any)."""
    records_filter = dg.AssetRecordsFilter(
        asset_key=_key(asset), asset_partitions=[partition] if partition else None
    )
    return {r.run_id for r in instance.fetch_materializations(records_filter, limit=100).records}


def _runs(instance: dg.DagsterInstance, tags: dict[str, str]) -> list[dg.DagsterRun]:
    """Runs with ``tags``; fails at once (with the run's errors) if one of them failed."""
    runs = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(tags=tags))]
    for run in runs:
        if run.status == dg.DagsterRunStatus.FAILURE:
            selection = sorted(k.to_user_string() for k in run.asset_selection or [])
            pytest.fail(f"run {run.run_id} {selection} failed:\n{_failures(instance, run.run_id)}")
    return runs


def _our_tracebacks(log: str) -> list[str]:
    """Log records with a Python traceback or a Dagster stack trace from our code location."""
    records = re.split(r"\n(?=\S*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", log)
    return [r for r in records if ("Traceback" in r or "Stack Trace" in r) and "ml_platform" in r]


def _env(tmp_path: Path) -> dict[str, str]:
    """Every setting the daemon and this test share; nothing inherited from the shell."""
    return {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "ML_PLATFORM_DATA_DIR": str(tmp_path / "data"),
        "ML_PLATFORM_LANDING_SETTLE_SECONDS": "1",
        "ML_PLATFORM_AUTOMATION_INTERVAL_SECONDS": "5",
    }


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """Seed the lake with all days but the last; the last day's files wait in staging."""
    for name in [n for n in os.environ if n.startswith("ML_PLATFORM_")] + ["MLFLOW_TRACKING_URI"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    settings = Settings.from_env()
    with dg.DagsterInstance.get() as instance:
        world = Playback.simulate(CONFIG, settings, instance, tmp_path / "staging")
        world.land(CONFIG.days - 2)  # every day but the last
        assert all(o.success for o in run_ingestion(settings, instance))
        outcome = run_features(settings, instance)
        assert outcome is not None and outcome.success
        yield instance


@pytest.fixture
def daemon(tmp_path: Path, seeded: dg.DagsterInstance) -> Iterator[Path]:
    """A running ``dagster-daemon`` on the seeded instance; yields its log file."""
    log = tmp_path / "daemon.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_PLATFORM_")}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("w") as out:  # a file, not a pipe: a full pipe would stall the daemon
        process = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
            cwd=PROJECT_ROOT,
            env={**env, **_env(tmp_path)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield log
    finally:
        # The whole process group: the daemon, its code server and any run worker.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _drop_new_day(tmp_path: Path) -> None:
    """Land the last day's files: written under a hidden name, backdated, then renamed."""
    for source in SOURCES:
        staged = tmp_path / "staging" / source / f"{source}_{NEW_DAY}.csv"
        if not staged.exists():
            continue
        target = tmp_path / "data" / "landing" / source / staged.name
        hidden = target.with_name(f".{staged.name}.tmp")
        shutil.copyfile(staged, hidden)
        stamp = time.time() - 10
        os.utime(hidden, (stamp, stamp))
        hidden.replace(target)


def test_daemon_ingests_and_automates_a_new_day(
    tmp_path: Path, seeded: dg.DagsterInstance, daemon: Path
) -> None:
    try:
        _land_and_follow(tmp_path, seeded, daemon)
    except BaseException:
        sys.stderr.write(f"--- daemon log (tail) ---\n{daemon.read_text()[-20_000:]}\n")
        raise


def _land_and_follow(tmp_path: Path, instance: dg.DagsterInstance, log: Path) -> None:
    """Land the new day, then follow it through ingestion and automation."""
    # Automation only reacts to updates after its first evaluation: land the file after it.
    _poll(
        "the first automation tick",
        lambda: _ticks(instance, "automation_sensor") or None,
        seconds=STARTUP_SECONDS,
    )
    landed_at = dt.datetime.now(dt.UTC).timestamp()
    _drop_new_day(tmp_path)

    def ingested() -> str | None:
        tags = {"ml_platform/trigger": "landing_sensor", "ml_platform/source": "transactions"}
        done = [r.run_id for r in _runs(instance, tags) if r.status == dg.DagsterRunStatus.SUCCESS]
        return done[0] if done else None

    ingestion_run = _poll("the landing sensor's transactions run", ingested)
    for asset in ("bronze/transactions", "silver/transactions"):
        assert ingestion_run in _partition_runs(instance, asset, NEW_DAY), asset

    def automated() -> set[str] | None:
        runs = _runs(instance, {AUTOMATION_TAG: "true"})
        ids = {r.run_id for r in runs if r.status == dg.DagsterRunStatus.SUCCESS}
        features = [
            _partition_runs(instance, asset, NEW_DAY) & ids
            for asset in ("features/customer_daily", "features/merchant_daily")
        ]
        online = {
            r.run_id
            for r in instance.fetch_materializations(_key("feature_store/online_store"), 10).records
            if r.timestamp > landed_at
        }
        return ids if all(features) and online & ids else None

    automation_runs = _poll("features and online store by automation", automated)
    in_flight = dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES)
    _poll("every run to finish", lambda: None if instance.get_run_records(in_flight) else True)

    every_run = [r.dagster_run for r in instance.get_run_records()]
    for run in every_run:
        assert run.status == dg.DagsterRunStatus.SUCCESS, _failures(instance, run.run_id)
    for asset in NOT_ATTEMPTED:
        assert not any(_key(asset) in (run.asset_selection or ()) for run in every_run), asset
        assert not _partition_runs(instance, asset, None), asset
    online = instance.get_latest_materialization_event(_key("feature_store/online_store"))
    assert online is not None and online.run_id in automation_runs
    assert online.asset_materialization.metadata["dagster/row_count"].value > 0
    for sensor in ("landing_sensor", "automation_sensor"):
        failed = [t for t in _ticks(instance, sensor) if t.status.value == "FAILURE"]
        assert not failed, [t.error for t in failed]
    assert not _our_tracebacks(log.read_text())
