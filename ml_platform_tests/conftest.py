"""Shared fixtures: every path under pytest's tmp_path, real Delta tables, real instances."""

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.signals import preserved_sigterm
from ml_platform.lib.simulation import SimulationConfig, simulate
from ml_platform.settings import Settings

# `make` exports ML_PLATFORM_FEAST_DIR (the checkout's data/feast) for the `feast` CLI, and
# `make test` inherits it: a test that points the platform at its own data folder would
# otherwise still put its Feast stores in the checkout. Tests that need it set their own.
os.environ.pop("ML_PLATFORM_FEAST_DIR", None)

TX_HEADER = (
    "transaction_id,customer_id,merchant_id,amount,merchant_category,channel,country,"
    "event_timestamp"
)


def tx_row(
    tid: str,
    when: str = "2026-01-02T10:00:00Z",
    amount: str = "12.50",
    customer: str = "1",
    channel: str = "pos",
) -> str:
    """One transactions CSV row with sensible defaults."""
    return f"{tid},{customer},7,{amount},grocery,{channel},US,{when}"


def write_landing(landing: Path, relpath: str, text: str, age_seconds: float = 3600) -> Path:
    """Write a landing file and backdate it so it counts as fully written."""
    path = landing / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    stamp = dt.datetime.now(dt.UTC).timestamp() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def settle(folder: Path) -> None:
    """Backdate every CSV under ``folder`` by an hour: fully written, settled long ago."""
    for path in folder.rglob("*.csv"):
        stamp = path.stat().st_mtime - 3600
        os.utime(path, (stamp, stamp))


def simulate_landed(config: SimulationConfig, settings: Settings) -> None:
    """Simulate ``config`` into the landing folder of ``settings``, settled."""
    simulate(config, Path(settings.landing_dir), Path(settings.ground_truth_dir), progress=False)
    settle(Path(settings.landing_dir))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings rooted in a fresh temporary data folder."""
    return Settings.under(tmp_path / "data", landing_settle_seconds=5.0)


@pytest.fixture
def landing(settings: Settings) -> Path:
    """The (empty) landing folder."""
    path = Path(settings.landing_dir)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def lake(settings: Settings) -> DeltaLake:
    """The lake of ``settings``."""
    return DeltaLake(settings.lake_uri)


@pytest.fixture
def platform(settings: Settings) -> PlatformResource:
    """The platform resource for ``settings``."""
    return PlatformResource.from_settings(settings)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A real, persistent (sqlite) Dagster instance in a temp DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture(autouse=True)
def nothing_written_to_the_repository() -> Iterator[None]:
    """Tests write only under tmp dirs: no store of the platform may appear in the checkout.

    Checked around every test, so the failure names the test that wrote there (what existed
    before, e.g. a developer's `make demo` data, is left alone).
    """
    from ml_platform.settings import PROJECT_ROOT

    data = PROJECT_ROOT / "data"
    strays = [
        PROJECT_ROOT / "mlflow.db",
        PROJECT_ROOT / "mlruns",
        PROJECT_ROOT / ".dagster_home",
        *(data / name for name in ("mlflow", "feast", "lake", "landing", "reports")),
        data / "warehouse.duckdb",
    ]
    before = {path for path in strays if path.exists()}
    yield
    created = [str(path) for path in strays if path.exists() and path not in before]
    assert not created, f"the test wrote into the repository: {created}"


@pytest.fixture(autouse=True)
def sigterm_kept() -> Iterator[None]:
    """Every test leaves SIGTERM as it found it (``lib/signals.py``).

    Tests that materialize with ``dg.materialize`` or ``execute_in_process`` directly would
    otherwise leave SIGTERM ignored when the suite runs in the background (SIGINT ignored),
    and every later child process could no longer be terminated.
    """
    with preserved_sigterm():
        yield


def _start_rank(item: pytest.Item) -> int:
    """0: files with their own (longer) timeout; 1: end-to-end and reliability; 2: the rest."""
    if item.get_closest_marker("timeout"):
        return 0
    return 1 if item.get_closest_marker("e2e") or item.get_closest_marker("reliability") else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow files first (a stable sort: each file's own order is kept).

    ``make test`` hands whole files to two workers (pytest-xdist, ``--dist loadfile
    --no-loadscope-reorder``) in this order: the minutes-long files then start first and the
    many quick ones fill in around them, instead of one of them ending the run alone.
    """
    items.sort(key=_start_rank)
