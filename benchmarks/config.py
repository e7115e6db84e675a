"""Benchmark scales, where their datasets live and the settings that point the platform there."""

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_platform.lib.simulation import SimulationConfig
from ml_platform.settings import PROJECT_ROOT, Settings

BENCH_ROOT = PROJECT_ROOT / "data" / "bench"
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
PARTITION_START = dt.date(2026, 1, 1)
# Bump when the way a dataset is built changes (not the project code: that is hashed).
DATASET_VERSION = 1


@dataclass(frozen=True)
class Scale:
    """One benchmark size.

    Attributes:
        name: ``small``, ``medium`` or ``large``.
        simulation: What the project's simulator generates for it (clean rows: no defects,
            so the bare baselines read exactly the rows the project accepts).
        retrieval_rows: Entity rows of the training-set retrieval benchmark (capped at the
            number of transactions).
        pandas_sample_customers: Customers (lowest ids) in the pandas comparison sample, or
            ``None`` for all of them; chosen so the sample holds about 1M transactions.
        online_entities: Entities written by the materialization benchmark.
        serving_requests: Requests of the HTTP load test (sent at 200 per second).
        lookup_calls: Calls of the online-lookup latency cases, for 1 entity and for 100.
        demo_days: Days the ``demo`` group simulates (default: the scale's own); its targets
            apply at medium and large only.
        repeats: Best-of-N for cheap measurements.
        budget: Seconds of repetitions after which a case stops repeating.
    """

    name: str
    simulation: SimulationConfig
    retrieval_rows: int = 1_000_000
    pandas_sample_customers: int | None = None
    online_entities: int = 100_000
    serving_requests: int = 4_000
    lookup_calls: tuple[int, int] = (2_000, 300)
    demo_days: int | None = None
    repeats: int = 3
    budget: float = 30.0


SCALES: dict[str, Scale] = {
    # ~150k transactions; 121 days, so "one new day on top of 120 days" holds at every scale
    # but medium (which is the demo's configuration, 90 days).
    "small": Scale(
        "small",
        SimulationConfig(start=PARTITION_START, days=121, customers=1_200, merchants=400),
        # A quick look: fewer entities, requests and calls than medium and large (100k
        # entities took ~75 s of the 3 minutes; 4,000 requests at 200/s 20 s; Feast's own
        # lookups 7.5 s), so percentiles rest on thinner samples here; the whole demo over
        # 45 days (16 s instead of 22 s for 121).
        online_entities=10_000,
        serving_requests=1_000,
        lookup_calls=(1_000, 100),
        demo_days=45,
        budget=8.0,
    ),
    # The demo: 12,000 customers x 90 days, ~1.13M transactions.
    "medium": Scale(
        "medium",
        SimulationConfig(start=PARTITION_START, days=90, customers=12_000, merchants=1_500),
    ),
    # ~10M transactions: 80,000 customers x 121 days (120 days of history + the new day).
    "large": Scale(
        "large",
        SimulationConfig(start=PARTITION_START, days=121, customers=80_000, merchants=10_000),
        pandas_sample_customers=8_000,
        repeats=1,
    ),
}


def current_scale() -> Scale:
    """The scale named by ``BENCH_SCALE`` (default ``small``)."""
    name = os.environ.get("BENCH_SCALE", "small").strip() or "small"
    if name not in SCALES:
        raise SystemExit(f"BENCH_SCALE={name!r}: expected one of {sorted(SCALES)}")
    return SCALES[name]


@dataclass(frozen=True)
class Paths:
    """Every folder of one scale's dataset and scratch space."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        return self.root / "ground_truth"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def feast(self) -> Path:
        return self.root / "feast"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def work(self) -> Path:
        """Scratch space of one run (emptied at the start of every run)."""
        return self.root / "work"

    @property
    def marker(self) -> Path:
        return self.root / "dataset.json"


def paths_for(scale: Scale) -> Paths:
    """The folders of a scale, under ``data/bench/<scale>/``."""
    return Paths(BENCH_ROOT / scale.name)


def bench_settings(root: Path, **overrides: Any) -> Settings:
    """Platform settings rooted at ``root`` (same layout as the defaults under ``data/``)."""
    return Settings.under(root, **{"partition_start": PARTITION_START, **overrides})


def _tree_hash(folders: list[Path]) -> str:
    sha = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]:
            if "__pycache__" in path.parts:
                continue
            sha.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def landing_key(scale: Scale) -> str:
    """Identity of a scale's landing data: its simulation config and the simulator's code."""
    config = {k: str(v) for k, v in dataclasses.asdict(scale.simulation).items()}
    text = json.dumps({"config": config, "version": DATASET_VERSION}, sort_keys=True)
    simulator = _tree_hash([PROJECT_ROOT / "ml_platform" / "lib" / "simulation"])
    return hashlib.sha256((text + simulator).encode()).hexdigest()[:16]


def pipeline_key() -> str:
    """Identity of the code that turns landing files into the lake and the Feast stores."""
    package = PROJECT_ROOT / "ml_platform"
    folders = [
        package / "defs",
        package / "lib" / "ingestion",
        package / "lib" / "staging",
        package / "lib" / "features",
        package / "lib" / "feature_store",
        package / "lib" / "lake",
        package / "lib" / "validation.py",
        package / "definitions.py",
        package / "runner.py",
        PROJECT_ROOT / "feature_repo",
    ]
    return _tree_hash(folders)
