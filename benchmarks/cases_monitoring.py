"""The monitoring case: the drift report of one day, as ``monitoring/feature_drift`` makes it.

It reads the scores ``cases_models.scoring_day_project`` wrote into the scratch lake and the
champion that ``cases_models.models_prepare`` registered.
"""

from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.cases_models import _Clock, _day, _fastest, model_settings, models_dir
from benchmarks.harness import Case


def drift_day_project(params: dict[str, Any]) -> Case:
    """What ``monitoring/feature_drift`` does for the newest day (as ``_day_drift`` + publish).

    Reads the day's scores from the scratch lake ``scoring_day_project`` wrote, loads the
    champion's monitoring profile (reference, importance) from MLflow, builds the model matrix,
    computes every feature's drift and the score's (``feature_drift``), writes the rows
    (Pandera + Delta, as ``publish``) and the HTML report (``render_drift_report``).
    """
    from ml_platform.defs.monitoring.common import (
        Profiles,
        drift_thresholds,
        majority_version,
        report_path,
    )
    from ml_platform.defs.monitoring.drift_assets import BATCH, DRIFT_TABLE, _in_sample
    from ml_platform.defs.scoring.assets import SCORES_TABLE
    from ml_platform.lib.lake import predicates
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.lake.transaction import LakeTransaction
    from ml_platform.lib.monitoring.drift import drift_frame, feature_drift
    from ml_platform.lib.monitoring.report import render_drift_report
    from ml_platform.lib.monitoring.schemas import FeatureDriftRows
    from ml_platform.lib.training.matrix import model_matrix
    from ml_platform.lib.validation import validate

    settings = model_settings(params)
    out = DeltaLake(str(models_dir(params) / "lake"))
    day, end = _day(params)
    runs: list[dict[str, float]] = []

    def run() -> tuple[list[Any], Path, int]:
        clock = _Clock()
        rows = (
            out.scan(SCORES_TABLE)
            .filter(pl.col("event_date").is_between(day, end, closed="left"))
            .collect()
        )
        clock.lap("read")
        profiles = Profiles(settings)
        scored = rows.filter(pl.col("event_date") == day)
        version = majority_version(scored)
        profile = profiles.get(version)
        clock.lap("profile")
        scored = scored.filter(pl.col("model_version") == version)
        matrix = model_matrix(scored)
        values = {name: matrix[name].to_numpy() for name in matrix.columns}
        score_values = scored.get_column("score").to_numpy()
        thresholds = drift_thresholds(settings)
        results = feature_drift(
            profile.reference, values, score_values, profile.importance, thresholds
        )
        if profile.trained_as_of is not None and day < profile.trained_as_of.date():
            results = _in_sample(results, profile.trained_as_of)
        frame = drift_frame(results, day, version)
        clock.lap("statistics")
        path = render_drift_report(
            report_path(settings, BATCH.report, day),
            day,
            version,
            results,
            profile.reference,
            values,
            score_values,
            thresholds,
            BATCH.title,
        )
        clock.lap("html")
        outcome = validate(frame, FeatureDriftRows)
        if not outcome.passed:
            raise AssertionError(f"drift rows fail FeatureDriftRows: {outcome.summary()}")
        with LakeTransaction(out) as tx:
            predicate = predicates.date_range("event_date", day, end)
            tx.replace(DRIFT_TABLE, frame, predicate, frame.schema, ["event_date"])
        clock.lap("write")
        runs.append(clock.laps)
        return results, path, scored.height

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
