"""A day's drift as one self-contained HTML page, and as a short markdown table.

The page needs nothing but a browser: styles inline, every chart inline SVG (``svg.py``), no
script, font or link to the network, so it can be attached to a run, mailed or archived.
"""

import datetime
import html
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ml_platform.lib.lake import objects
from ml_platform.lib.monitoring import svg
from ml_platform.lib.monitoring.drift import SCORE, DriftThresholds, FeatureDrift, drift_summary
from ml_platform.lib.training.reference import feature_proportions

_MAX_CATEGORIES = 25
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:28px}
table{border-collapse:collapse;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td.t{text-align:left}
tr.drifted td{background:#fde2dc}tr.unjudged td{color:#888}
.summary{font-size:1.05em}.note{color:#555;font-size:.85em}
"""


def render_drift_report(
    path: str | Path,
    day: datetime.date,
    model_version: str,
    results: list[FeatureDrift],
    reference: dict[str, Any],
    current: Mapping[str, np.ndarray],
    scores: np.ndarray | None,
    thresholds: DriftThresholds,
    title: str = "Drift report",
) -> str | Path:
    """Write the drift report of one day as a single self-contained HTML file.

    Args:
        path: Where to write; parent folders are created; an existing file is replaced
            atomically (a reader sees the old or the new page, never half of one).
        day: The day the current values belong to.
        model_version: The model version whose reference was used.
        results: ``feature_drift`` output, in its order (drifted first).
        reference: The reference the results were computed against (with ``"score"`` if the
            results have a score row).
        current: The day's feature values (``NaN`` = null), as given to ``feature_drift``.
        scores: The day's model scores, or ``None``.
        thresholds: The thresholds the results were judged with.
        title: What the page calls itself (day and model version follow).

    Returns:
        ``path``.
    """
    summary = drift_summary(results)
    # score first, then the table's order; ``index`` links a table row to its section
    sections = [
        _section(index, r, reference, current, scores)
        for index, r in sorted(enumerate(results), key=lambda item: item[1].kind != SCORE)
    ]
    title = f"{title} {day.isoformat()}, model version {model_version}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{_e(_summary_line(summary))}</p>',
        f'<p class="note">{_e(_thresholds_line(thresholds))}</p>',
        _table(results),
        *sections,
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return write_atomically(path, page)


def drift_markdown(results: list[FeatureDrift], limit: int = 10) -> str:
    """The first ``limit`` results as a markdown table (e.g. Dagster metadata).

    Args:
        results: ``feature_drift`` output, in its order (drifted first).
        limit: Rows shown; a last line says how many were left out.

    Returns:
        ``| feature | PSI | KS/JS | importance | drifted |`` and one row per result.
    """
    lines = ["| feature | PSI | KS/JS | importance | drifted |", "|---|---:|---:|---:|---|"]
    for r in results[:limit]:
        name = r.feature.replace("|", "\\|")
        lines.append(
            f"| {name} | {r.psi:.3f} | {_fmt(_ks_or_js(r))} | {r.importance:.1%} | {_verdict(r)} |"
        )
    if len(results) > limit:
        lines.append(f"\n… and {len(results) - limit} more")
    return "\n".join(lines)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ks_or_js(r: FeatureDrift) -> float | None:
    return r.ks if r.ks is not None else r.js_distance


def _verdict(r: FeatureDrift) -> str:
    return "not judged" if not r.judged else ("yes" if r.drifted else "no")


def _state(r: FeatureDrift) -> str:
    return "not judged" if not r.judged else ("drifted" if r.drifted else "stable")


def _summary_line(summary: dict[str, Any]) -> str:
    drifted, judged = len(summary["drifted_features"]), summary["features"]
    parts = [
        f"{drifted} of {judged} features drifted"
        if judged
        else "no feature judged (the verdict column says why)"
    ]
    if summary["worst_feature"] is not None:
        parts.append(f"worst PSI {summary['worst_psi']:.3f} ({summary['worst_feature']})")
    if summary["score_psi"] is None:
        parts.append("score PSI not computed")
    else:
        verdict = "drifted" if summary["score_drifted"] else "stable"
        parts.append(f"score PSI {summary['score_psi']:.3f} ({verdict})")
    return "; ".join(parts) + "."


def _thresholds_line(t: DriftThresholds) -> str:
    return (
        f"Drifted when (numeric) PSI >= {t.psi:g} or KS >= {t.ks:g}; (categorical) "
        f"Jensen–Shannon distance >= {t.categorical:g}; (score) PSI >= {t.score_psi:g}. "
        f"Not judged below {t.min_rows} rows. Statistics over non-null values."
    )


def _table(results: list[FeatureDrift]) -> str:
    head = (
        "feature", "kind", "importance", "PSI", "KS", "JS", "null (ref)", "null (cur)", "rows",
        "verdict",
    )  # fmt: skip
    rows = ["<table>", "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for index, r in enumerate(results):
        css = "drifted" if r.drifted else ("" if r.judged else "unjudged")
        verdict = _state(r) + (f": {r.reason}" if r.reason else "")
        cells = [
            f'<td class="t"><a href="#f{index}">{_e(r.feature)}</a></td>',
            f'<td class="t">{_e(r.kind)}</td>',
            f"<td>{r.importance:.1%}</td>",
            f"<td>{r.psi:.3f}</td><td>{_fmt(r.ks)}</td><td>{_fmt(r.js_distance)}</td>",
            f"<td>{r.reference_null_share:.1%}</td><td>{r.current_null_share:.1%}</td>",
            f"<td>{r.rows:,}</td>",
            f'<td class="t">{_e(verdict)}</td>',
        ]
        rows.append(f'<tr class="{css}">' + "".join(cells) + "</tr>")
    return "\n".join([*rows, "</table>"])


def _section(
    index: int,
    r: FeatureDrift,
    reference: dict[str, Any],
    current: Mapping[str, np.ndarray],
    scores: np.ndarray | None,
) -> str:
    spec = reference.get(SCORE) if r.kind == SCORE else reference["features"].get(r.feature)
    values = scores if r.kind == SCORE else current.get(r.feature)
    stats = ", ".join(
        f"{label} {value:.3f}"
        for label, value in (("PSI", r.psi), ("KS", r.ks), ("JS distance", r.js_distance))
        if value is not None
    )
    stats += f": {_state(r)}"
    head = f'<h2 id="f{index}">{_e(r.feature)} <small>({_e(r.kind)})</small></h2>'
    note = f'<p class="note">{_e(stats + (f" ({r.reason})" if r.reason else ""))}</p>'
    if spec is None or values is None:
        return f'{head}{note}<p class="note">No values to plot.</p>'
    values = np.asarray(values, dtype=np.float64).ravel()
    if spec["type"] == "categorical":
        chart = _categorical_chart(spec, values)
    else:
        chart = _numeric_chart(spec, values)
    return f'{head}{note}<div class="chart">{chart}</div>'


def _numeric_chart(spec: dict[str, Any], values: np.ndarray) -> str:
    found = feature_proportions(spec, values)
    bars = svg.grouped_bars(
        _bin_labels(spec["edges"]),
        spec["proportions"],
        found["proportions"],
        "share of non-null values per reference bin",
    )
    points = np.asarray(spec["cdf"]["values"], dtype=np.float64)
    present = np.sort(values[~np.isnan(values)])
    mine = np.searchsorted(present, points, side="right") / present.size if present.size else []
    cdf = svg.cdf_lines(
        list(points), spec["cdf"]["shares"], list(mine), "CDF at the reference's percentiles"
    )
    return bars + cdf


def _categorical_chart(spec: dict[str, Any], values: np.ndarray) -> str:
    found = feature_proportions(spec, values)["proportions"]
    keys = sorted(found, key=lambda k: (-spec["proportions"].get(k, 0.0), -found[k], k))
    keys = keys[:_MAX_CATEGORIES]
    reference = [spec["proportions"].get(k, 0.0) for k in keys]
    return svg.grouped_bars(
        keys, reference, [found[k] for k in keys], "share of non-null values per category"
    )


def _bin_labels(edges: list[float]) -> list[str]:
    """``<e1``, ``[e1, e2)``, …, ``>=ek`` with as few digits as keep the edges distinct."""
    if not edges:
        return []
    for digits in range(3, 10):
        text = [_num(e, digits) for e in edges]
        if len(set(text)) == len(text):
            break
    inner = [f"[{a}, {b})" for a, b in itertools.pairwise(text)]
    return [f"<{text[0]}", *inner, f">={text[-1]}"]


def _num(value: float, digits: int) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    if abs(value) >= 10**digits:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def write_atomically(path: str | Path, text: str) -> str | Path:
    """Write a report so readers see the old page or the new one, never half of one.

    ``path`` is a local path or an object-store URI (``reports_dir`` on S3).
    """
    objects.write_bytes(path, text.encode("utf-8"))
    return path
