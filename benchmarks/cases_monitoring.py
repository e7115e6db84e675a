"""The monitoring case: the drift report of one day, as ``monitoring/feature_drift`` makes it.

It reads the scores ``cases_models.scoring_day_project`` wrote into the scratch lake and the
champion that ``cases_models.models_prepare`` registered.
"""

from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.cases_models import _day, _fastest, model_settings, models_dir
from benchmarks.harness import Case


def drift_day_project(params: dict[str, Any]) -> Case:
    """What ``monitoring/feature_drift`` does for the newest day (``day_drift`` + publish).

    Reads the day's scores from the scratch lake ``scoring_day_project`` wrote, then the asset's
    own ``day_drift`` (the champion's monitoring profile from MLflow, the model matrix, every
    feature's drift and the score's, the HTML report; its phases timed by the function itself),
    then the rows (``drift_frame``) validated and written (Pandera + Delta, as ``publish``).
    """
    from ml_platform.defs.monitoring.common import Profiles
    from ml_platform.defs.monitoring.drift_assets import BATCH, DRIFT_TABLE, day_drift
    from ml_platform.defs.scoring.assets import SCORES_TABLE
    from ml_platform.lib.lake import predicates
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.lake.transaction import LakeTransaction
    from ml_platform.lib.monitoring.drift import drift_frame
    from ml_platform.lib.monitoring.schemas import FeatureDriftRows
    from ml_platform.lib.timing import Phases
    from ml_platform.lib.validation import validate

    settings = model_settings(params)
    out = DeltaLake(str(models_dir(params) / "lake"))
    day, end = _day(params)
    runs: list[dict[str, float]] = []

    def run() -> tuple[list[Any], Path, int]:
        phases = Phases()
        rows = (
            out.scan(SCORES_TABLE)
            .filter(pl.col("event_date").is_between(day, end, closed="left"))
            .collect()
        )
        phases.lap("read")
        scored = rows.filter(pl.col("event_date") == day)
        report = day_drift(settings, BATCH, Profiles(settings), day, scored, phases)
        frame = drift_frame(report.results, day, report.version)
        outcome = validate(frame, FeatureDriftRows)
        if not outcome.passed:
            raise AssertionError(f"drift rows fail FeatureDriftRows: {outcome.summary()}")
        with LakeTransaction(out) as tx:
            predicate = predicates.date_range("event_date", day, end)
            tx.replace(DRIFT_TABLE, frame, predicate, frame.schema, ["event_date"])
        phases.lap("write")
        runs.append(phases.seconds)
        return report.results, Path(report.path), scored.height

    def finish(result: tuple[list[Any], Path, int]) -> dict[str, Any]:
        results, path, rows = result
        return {
            "rows": rows,
            "results": len(results),
            "features": sum(1 for r in results if r.kind != "score"),
            "report_kb": round(path.stat().st_size / 1024),
            "parts": _fastest(runs),
        }

    return Case(run=run, finish=finish)
