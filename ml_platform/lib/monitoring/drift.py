"""How far a day's feature values are from the training reference.

The reference is the JSON logged with the model (``reference_distribution``, optionally with a
top-level ``"score"`` spec from ``numeric_reference``). A day's values are binned exactly as
the reference was (``feature_proportions``) and compared with:

* numeric features: the population stability index (PSI) over the reference's quantile bins
  and a Kolmogorov–Smirnov statistic evaluated at the reference's percentiles (the reference
  keeps its CDF at 101 points, not the training rows, so this is the KS distance on that grid:
  at most the exact statistic, and within about one percentile of it);
* categorical features: the Jensen–Shannon distance (base 2, in ``[0, 1]``) between the
  category shares, and a PSI over the categories for a common scale;
* the model's scores: PSI over the score reference's bins.

All statistics are over non-null values; null shares are reported next to them, not judged.
A feature is judged only with at least ``DriftThresholds.min_rows`` current rows and non-null
values on both sides.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.spatial.distance import jensenshannon

from ml_platform.lib.training.reference import feature_proportions

SCORE = "score"
"""Feature name (and kind) of the model's score distribution in the results."""


@dataclass(frozen=True)
class DriftThresholds:
    """When a statistic counts as drift (each compared with ``>=``)."""

    psi: float = 0.1
    """Population stability index of a numeric feature (reference bins)."""
    ks: float = 0.1
    """Kolmogorov–Smirnov statistic of a numeric feature."""
    categorical: float = 0.1
    """Jensen–Shannon distance (base 2) of a categorical feature."""
    score_psi: float = 0.1
    """PSI of the model's score distribution."""
    min_rows: int = 200
    """Fewer current rows than this: not judged (``drifted=False, judged=False``)."""


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one feature (or of the score) on one day's rows."""

    feature: str
    kind: str
    """``"numeric"``, ``"categorical"`` or ``"score"``."""
    psi: float
    """PSI over the reference bins; for a categorical feature over the categories."""
    ks: float | None
    """Kolmogorov–Smirnov statistic (numeric and score only)."""
    js_distance: float | None
    """Jensen–Shannon distance, base 2 (categorical only)."""
    reference_null_share: float
    current_null_share: float
    rows: int
    """Current rows, nulls included."""
    importance: float
    """Share of the model's total gain (0 for the score), as given by the caller."""
    drifted: bool
    judged: bool
    reason: str
    """Why drifted (``"PSI 0.234 >= 0.1"``) or not judged; empty otherwise."""


def population_stability_index(
    reference: Sequence[float], current: Sequence[float], epsilon: float = 1e-4
) -> float:
    """Sum over bins of ``(c - r) * ln(c / r)``, both shares clipped below at ``epsilon``.

    The clipped vectors are not renormalised, so an empty bin costs a bounded amount.

    Args:
        reference: The reference share of each bin.
        current: The current share of each bin, aligned with ``reference``.
        epsilon: Floor of every share (an empty bin would make the index infinite).

    Returns:
        The index, ``>= 0``; 0 for identical shares.

    Raises:
        ValueError: If the two vectors have different lengths.
    """
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    if r.shape != c.shape:
        raise ValueError(f"PSI needs aligned bins, got {r.size} reference and {c.size} current")
    r = np.clip(r, epsilon, None)
    c = np.clip(c, epsilon, None)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_statistic(spec: dict[str, Any], values: np.ndarray) -> float:
    """Largest gap between the reference CDF and the current one at the reference's points.

    Args:
        spec: A numeric reference spec with ``cdf = {"values", "shares"}``.
        values: Current values; ``NaN`` ignored.

    Returns:
        ``max_i |shares[i] - share of current values <= values[i]|``; 0.0 if either side has
        no non-null value.
    """
    points = np.asarray(spec["cdf"]["values"], dtype=np.float64)
    shares = np.asarray(spec["cdf"]["shares"], dtype=np.float64)
    present = np.asarray(values, dtype=np.float64).ravel()
    present = np.sort(present[~np.isnan(present)])
    if points.size == 0 or present.size == 0:
        return 0.0
    current = np.searchsorted(present, points, side="right") / present.size
    return float(np.max(np.abs(shares - current)))


def jensen_shannon_distance(reference: Mapping[str, float], current: Mapping[str, float]) -> float:
    """Jensen–Shannon distance (base 2) between two category-share maps.

    Args:
        reference: Share per category (normalised here if it does not sum to 1).
        current: Share per category; a category missing from one side has share 0 there.

    Returns:
        The distance in ``[0, 1]``: 0 for identical shares, 1 for disjoint categories; 0.0 if
        either side has no mass at all.
    """
    keys = sorted(set(reference) | set(current))
    p = np.array([reference.get(k, 0.0) for k in keys], dtype=np.float64)
    q = np.array([current.get(k, 0.0) for k in keys], dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    return float(np.clip(jensenshannon(p, q, base=2), 0.0, 1.0))


def feature_drift(
    reference: dict[str, Any],
    matrix: Mapping[str, np.ndarray],
    scores: np.ndarray | None,
    importance: Mapping[str, float],
    thresholds: DriftThresholds = DriftThresholds(),
) -> list[FeatureDrift]:
    """Compare a day's model matrix (and scores) with the training reference.

    Args:
        reference: A ``reference_distribution`` dict, optionally with a top-level ``"score"``
            numeric spec (``numeric_reference`` of the training scores).
        matrix: Feature name to ``float64`` values, ``NaN`` = null (a pandas model matrix
            works). Columns the reference does not describe are ignored.
        scores: The day's model scores, or ``None`` to skip the score comparison.
        importance: Feature name to share of the model's total gain (missing = 0).
        thresholds: When a statistic counts as drift.

    Returns:
        One result per reference feature, plus ``"score"`` when both the reference has a score
        spec and ``scores`` is given; drifted first, then by PSI descending, then by name.

    Raises:
        ValueError: If ``matrix`` lacks features of the reference.
    """
    features: dict[str, Any] = reference["features"]
    missing = [name for name in features if name not in matrix]
    if missing:
        raise ValueError(f"current values lack reference features {missing}")
    results = [
        _one_feature(name, spec, matrix[name], importance.get(name, 0.0), thresholds, False)
        for name, spec in features.items()
    ]
    if scores is not None and reference.get(SCORE) is not None:
        results.append(_one_feature(SCORE, reference[SCORE], scores, 0.0, thresholds, True))
    return sorted(results, key=lambda r: (not r.drifted, -r.psi, r.feature))


def _one_feature(
    name: str,
    spec: dict[str, Any],
    values: Any,
    importance: float,
    thresholds: DriftThresholds,
    is_score: bool,
) -> FeatureDrift:
    values = np.asarray(values, dtype=np.float64).ravel()
    found = feature_proportions(spec, values)
    ref_shares, cur_shares = spec["proportions"], found["proportions"]
    categorical = spec["type"] == "categorical"
    kind = SCORE if is_score else ("categorical" if categorical else "numeric")
    empty_side = _empty_side(ref_shares, cur_shares)
    ks = js = None
    checks: list[tuple[str, float, float]] = []  # (statistic, value, threshold)
    if categorical:
        keys = list(cur_shares)  # the reference categories, then any new ones
        ref = [ref_shares.get(k, 0.0) for k in keys]
        psi = 0.0 if empty_side else population_stability_index(ref, list(cur_shares.values()))
        js = jensen_shannon_distance(ref_shares, cur_shares)
        checks.append(("JS", js, thresholds.categorical))
    else:
        psi = 0.0 if empty_side else population_stability_index(ref_shares, cur_shares)
        ks = ks_statistic(spec, values)
        if kind == SCORE:
            checks.append(("PSI", psi, thresholds.score_psi))
        else:
            checks += [("PSI", psi, thresholds.psi), ("KS", ks, thresholds.ks)]
    judged, reason = True, ""
    if values.size < thresholds.min_rows:
        judged, reason = False, f"too few rows ({values.size} < {thresholds.min_rows})"
    elif empty_side:
        judged, reason = False, f"no non-null {empty_side} values"
    hits = [f"{stat} {value:.3f} >= {limit:g}" for stat, value, limit in checks if value >= limit]
    drifted = judged and bool(hits)
    if drifted:
        reason = "; ".join(hits)
    return FeatureDrift(
        feature=name,
        kind=kind,
        psi=psi,
        ks=ks,
        js_distance=js,
        reference_null_share=float(spec["null_share"]),
        current_null_share=float(found["null_share"]),
        rows=int(values.size),
        importance=float(importance),
        drifted=drifted,
        judged=judged,
        reason=reason,
    )


def _empty_side(reference: Any, current: Any) -> str:
    """``"reference"`` / ``"current"`` if that side has no non-null value, else ``""``."""
    for side, shares in (("reference", reference), ("current", current)):
        total = sum(shares.values()) if isinstance(shares, dict) else sum(shares)
        if total <= 0:
            return side
    return ""


def drift_summary(results: list[FeatureDrift]) -> dict[str, Any]:
    """Headline numbers of a drift run (e.g. Dagster metadata).

    Args:
        results: ``feature_drift`` output.

    Returns:
        ``features`` (judged features, score excluded), ``drifted_features`` (names, in result
        order), ``worst_feature`` and ``worst_psi`` (largest PSI among judged features, ``None``
        if none was judged), ``score_psi`` (``None`` without a score result) and
        ``score_drifted``.
    """
    features = [r for r in results if r.kind != SCORE]
    judged = [r for r in features if r.judged]
    worst = max(judged, key=lambda r: (r.psi, r.feature), default=None)
    score = next((r for r in results if r.kind == SCORE), None)
    return {
        "features": len(judged),
        "drifted_features": [r.feature for r in features if r.drifted],
        "worst_feature": worst.feature if worst else None,
        "worst_psi": worst.psi if worst else None,
        "score_psi": score.psi if score else None,
        "score_drifted": bool(score and score.drifted),
    }


DRIFT_SCHEMA = pl.Schema(
    {
        "event_date": pl.Date(),  # the scored day (`day` is reserved in DuckDB 2.0)
        "model_version": pl.String(),
        "feature": pl.String(),
        "kind": pl.String(),
        "psi": pl.Float64(),
        "ks": pl.Float64(),
        "js_distance": pl.Float64(),
        "reference_null_share": pl.Float64(),
        "current_null_share": pl.Float64(),
        "rows": pl.Int64(),
        "importance": pl.Float64(),
        "drifted": pl.Boolean(),
        "judged": pl.Boolean(),
        "reason": pl.String(),
    }
)
"""Columns of ``drift_frame``: fixed whatever the values (all-null columns keep their type)."""


def drift_frame(
    results: list[FeatureDrift], day: datetime.date, model_version: str
) -> pl.DataFrame:
    """One row per result, with the day and the model version, in ``DRIFT_SCHEMA``.

    Args:
        results: ``feature_drift`` output (any order; kept).
        day: The day the current values belong to.
        model_version: The registered model version the reference came from.

    Returns:
        A Polars frame with exactly the columns and dtypes of ``DRIFT_SCHEMA``.
    """
    rows = [
        {
            "event_date": day,
            "model_version": model_version,
            **{name: getattr(r, name) for name in list(DRIFT_SCHEMA)[2:]},
        }
        for r in results
    ]
    return pl.DataFrame(rows, schema=DRIFT_SCHEMA)
