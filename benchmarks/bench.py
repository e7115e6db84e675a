"""What every benchmark group shares: the run (``Bench``), its table rows, and comparisons."""

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from benchmarks.config import Paths, Scale
from benchmarks.harness import Measurement, measure


@dataclass
class Row:
    """One line of the results table (``ratio`` is always project / baseline)."""

    name: str
    baseline: str
    target: str
    project_seconds: float | None = None
    baseline_seconds: float | None = None
    ratio: float | None = None
    peak_mb: float | None = None
    baseline_peak_mb: float | None = None
    met: bool | None = None
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One run: the scale, its dataset, the parameters every case gets, the rows so far."""

    def __init__(self, scale: Scale, paths: Paths, marker: dict[str, Any]) -> None:
        self.scale = scale
        self.paths = paths
        self.marker = marker
        self.rows: list[Row] = []
        self.failures: list[str] = []
        self.cache: dict[str, Measurement] = {}
        mod = {"small": 1, "medium": 10}.get(scale.name, 50)
        self.params: dict[str, Any] = {
            "root": str(paths.root),
            "work": str(paths.work),
            "first": marker["first_day"],
            "last": marker["last_day"],
            "sample_mod": mod,
        }

    @property
    def days(self) -> int:
        return int(self.marker["days"])

    def measure(
        self,
        case: str,
        repeats: int | None = None,
        nice: int | None = None,
        budget: float | None = None,
        **extra: Any,
    ) -> Measurement:
        """Measure ``case`` (``module:function``, or a function of ``benchmarks.cases``).

        ``repeats`` and ``budget`` default to the scale's; ``extra`` goes to the case's params.
        """
        ref = case if ":" in case else f"benchmarks.cases:{case}"
        _log(f"  measuring {ref.rpartition(':')[2]}")
        result = measure(
            ref,
            {**self.params, **extra},
            self.paths.work / "logs",
            repeats=self.scale.repeats if repeats is None else repeats,
            budget=self.scale.budget if budget is None else budget,
            nice=nice,
        )
        times = ", ".join(f"{t:.2f}" for t in result.times)
        _log(f"    best {result.seconds:.3f} s of [{times}], peak {result.peak_mb:.0f} MB")
        return result

    def work_frame(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.paths.work / f"{name}.parquet")


def _ratio(project: float, baseline: float) -> float:
    return project / baseline if baseline > 0 else float("inf")


def _compared(
    name: str,
    baseline: str,
    target: str,
    project: Measurement,
    base: Measurement,
    limit: float,
    **details: Any,
) -> Row:
    ratio = _ratio(project.seconds, base.seconds)
    return Row(
        name=name,
        baseline=baseline,
        target=target,
        project_seconds=project.seconds,
        baseline_seconds=base.seconds,
        ratio=ratio,
        peak_mb=project.peak_mb,
        baseline_peak_mb=base.peak_mb,
        met=ratio <= limit,
        details={
            "project_times": project.times,
            "baseline_times": base.times,
            "project_setup_mb": project.setup_mb,
            "project_info": project.info,
            "baseline_info": base.info,
            **details,
        },
    )
