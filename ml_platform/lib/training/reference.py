"""The training reference distribution of every model feature, for drift monitoring.

Computed on a model matrix (the training step passes its held-out splits, see
``evaluation.monitoring_reference``) and logged with the model as JSON. Numeric features:
quantile bin edges and the share of values in each bin, plus the empirical CDF at the
percentiles; categorical features: the share of each category; both: the share of nulls.
``feature_proportions`` bins new values exactly as the reference was binned, so a monitor
compares like with like (e.g. a population stability index per feature); the CDF supports a
Kolmogorov–Smirnov statistic without the training rows.

Bins of a numeric feature with interior edges ``e_1 < … < e_k``: ``(-inf, e_1)``,
``[e_1, e_2)``, …, ``[e_k, +inf)``; ``k + 1`` proportions over the non-null values. Edges are
the distinct deciles, taken as observed values (no interpolation), so a feature with few
distinct values (a count, a 0/1 flag) gets fewer bins whose edges are its own values.

CDF of a numeric feature: ``values`` are the distinct percentiles (0th to 100th, observed
values, so the minimum and the maximum are included) and ``shares[i]`` is the exact share of
non-null values ``<= values[i]`` (the last share is 1). Format 2 added the CDF; format 1 files
are refused.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_platform.lib.training.matrix import CATEGORICAL_FEATURES

REFERENCE_FORMAT = 2
REFERENCE_BINS = 10
CDF_POINTS = 101  # percentiles 0, 1, …, 100
REFERENCE_FILE = "reference_distribution.json"


def reference_distribution(
    matrix: pd.DataFrame,
    categorical: tuple[str, ...] = CATEGORICAL_FEATURES,
    bins: int = REFERENCE_BINS,
) -> dict[str, Any]:
    """Describe the distribution of every column of a model matrix.

    Args:
        matrix: A model matrix (``model_matrix`` output).
        categorical: Columns described by category shares instead of quantile bins.
        bins: Quantile bins of numeric columns (before merging equal edges).

    Returns:
        ``{"format": 2, "rows": n, "bins": bins, "features": {name: spec}}`` where a numeric
        ``spec`` is ``{"type": "numeric", "null_share", "edges", "proportions", "cdf"}``
        (``cdf`` = ``{"values": [...], "shares": [...]}``, see ``numeric_reference``) and a
        categorical one ``{"type": "categorical", "null_share", "proportions": {code: share}}``
        (codes as strings, JSON keys). JSON-serialisable as is.
    """
    features: dict[str, Any] = {}
    for name in matrix.columns:
        values = matrix[name].to_numpy(dtype=np.float64)
        if name in categorical:
            features[name] = _categorical_spec(values)
        else:
            features[name] = _numeric_spec(values, bins)
    return {"format": REFERENCE_FORMAT, "rows": len(matrix), "bins": bins, "features": features}


def _null_share(values: np.ndarray) -> float:
    return float(np.isnan(values).mean()) if values.size else 0.0


def numeric_reference(values: np.ndarray, bins: int = REFERENCE_BINS) -> dict[str, Any]:
    """Describe one numeric variable as a reference feature spec (e.g. the model's scores).

    Args:
        values: The variable's values (``NaN`` = null); converted to ``float64``.
        bins: Quantile bins (before merging equal edges).

    Returns:
        ``{"type": "numeric", "null_share", "edges", "proportions", "cdf"}``, the same spec
        ``reference_distribution`` gives a numeric column: ``cdf`` is ``{"values", "shares"}``,
        the exact share of non-null values ``<=`` each distinct percentile. ``edges``,
        ``proportions`` and both ``cdf`` lists are empty when no value is present.
    """
    return _numeric_spec(np.asarray(values, dtype=np.float64).ravel(), bins)


def _numeric_spec(values: np.ndarray, bins: int) -> dict[str, Any]:
    # One sort per feature serves the deciles, the bin counts and the CDF.
    ordered = np.sort(values[~np.isnan(values)])
    spec: dict[str, Any] = {"type": "numeric", "null_share": _null_share(values)}
    if ordered.size == 0:
        spec.update(edges=[], proportions=[], cdf={"values": [], "shares": []})
        return spec
    edges = [float(e) for e in np.unique(_higher(ordered, np.linspace(0, 1, bins + 1)[1:-1]))]
    spec["edges"] = edges
    spec["proportions"] = _sorted_bin_shares(ordered, edges)
    spec["cdf"] = _cdf(ordered)
    return spec


def _higher(ordered: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """``np.quantile(..., method="higher")`` of sorted values, read off without a partition."""
    return ordered[np.ceil((ordered.size - 1) * quantiles).astype(np.intp)]


def _cdf(ordered: np.ndarray) -> dict[str, list[float]]:
    points = np.unique(_higher(ordered, np.linspace(0, 1, CDF_POINTS)))
    shares = np.searchsorted(ordered, points, side="right") / ordered.size
    return {"values": [float(v) for v in points], "shares": [float(s) for s in shares]}


def _sorted_bin_shares(ordered: np.ndarray, edges: list[float]) -> list[float]:
    """``_bin_shares`` of sorted values: bin boundaries found in the values, not vice versa."""
    below = np.searchsorted(ordered, np.asarray(edges, dtype=np.float64), side="left")
    counts = np.diff(np.concatenate(([0], below, [ordered.size])))
    return [float(c) for c in counts / ordered.size]


def _bin_shares(present: np.ndarray, edges: list[float]) -> list[float]:
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), present, side="right")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return [float(c) for c in counts / max(present.size, 1)]


def _categorical_spec(values: np.ndarray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    codes, counts = np.unique(present, return_counts=True)
    shares = {
        _code_key(code): float(count / present.size)
        for code, count in zip(codes, counts, strict=True)
    }
    return {"type": "categorical", "null_share": _null_share(values), "proportions": shares}


def _code_key(code: float) -> str:
    return str(int(code)) if float(code).is_integer() else repr(float(code))


def feature_proportions(spec: dict[str, Any], values: np.ndarray) -> dict[str, Any]:
    """Describe new values of one feature in the reference's own bins or categories.

    Args:
        spec: One entry of ``reference_distribution(...)["features"]`` (or a
            ``numeric_reference`` spec).
        values: The feature's new values (``NaN`` = null), e.g. a model-matrix column.

    Returns:
        ``{"null_share", "proportions"}``: for a numeric feature a list aligned with the
        reference bins; for a categorical one a dict over the reference categories plus
        any new ones.
    """
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if spec["type"] == "numeric":
        shares: Any = _bin_shares(present, spec["edges"]) if present.size else []
    else:
        found = _categorical_spec(values)["proportions"]
        shares = {code: found.get(code, 0.0) for code in spec["proportions"]}
        shares.update({code: share for code, share in found.items() if code not in shares})
    return {"null_share": _null_share(values), "proportions": shares}


def save_reference(reference: dict[str, Any], path: str | Path) -> Path:
    """Write a reference distribution as JSON (sorted keys, stable diff)."""
    path = Path(path)
    path.write_text(json.dumps(reference, indent=2, sort_keys=True), encoding="utf-8")
    return path


def load_reference(path: str | Path) -> dict[str, Any]:
    """Read a reference distribution written by ``save_reference``.

    Raises:
        ValueError: If the file is not a reference distribution of the current format
            (``REFERENCE_FORMAT``; older formats lack the CDF).
    """
    reference = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(reference, dict) or reference.get("format") != REFERENCE_FORMAT:
        raise ValueError(f"{path} is not a reference distribution (format {REFERENCE_FORMAT})")
    return reference
