"""Small inline SVG charts for the HTML reports: fast (milliseconds), crisp, self-contained.

A day's drift report has a chart per model feature; matplotlib took ~8 s per report for
them, this takes a few milliseconds, which matters when a backfill writes a report per day.
"""

import html
from collections.abc import Sequence

import numpy as np

REFERENCE_COLOR, CURRENT_COLOR = "#7f8fa6", "#d0573b"
_W, _H = 560, 190  # chart size in px
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 18, 58  # margins


def _frame(width: int, title: str, body: list[str], y_max: float) -> str:
    plot_h = _H - _TOP - _BOTTOM
    ticks = []
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        ticks.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{_LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{y_max * fraction:.2g}</text>"
        )
    legend = (
        f'<rect x="{width - 170}" y="4" width="9" height="9" fill="{REFERENCE_COLOR}"/>'
        f'<text x="{width - 157}" y="12">reference</text>'
        f'<rect x="{width - 95}" y="4" width="9" height="9" fill="{CURRENT_COLOR}"/>'
        f'<text x="{width - 82}" y="12">current</text>'
    )
    return (
        f'<svg width="{width}" height="{_H}" '
        f'font-family="sans-serif" font-size="9" role="img" aria-label="{html.escape(title)}">'
        f'<text x="{_LEFT}" y="12" font-size="10">{html.escape(title)}</text>'
        + "".join(ticks)
        + "".join(body)
        + legend
        + "</svg>"
    )


def grouped_bars(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float], title: str
) -> str:
    """Reference and current shares side by side for each bin or category."""
    n = max(len(labels), 1)
    width = max(_W, _LEFT + _RIGHT + 26 * n)
    plot_w, plot_h = width - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    y_max = max([*reference, *current, 1e-9])
    slot = plot_w / n
    body = []
    for i, label in enumerate(labels):
        x0 = _LEFT + i * slot
        for offset, values, color in (
            (0.1, reference, REFERENCE_COLOR),
            (0.5, current, CURRENT_COLOR),
        ):
            if i < len(values):
                h = plot_h * values[i] / y_max
                body.append(
                    f'<rect x="{x0 + offset * slot:.1f}" y="{_TOP + plot_h - h:.1f}" '
                    f'width="{0.4 * slot:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{html.escape(label)}: {values[i]:.4f}</title></rect>"
                )
        cx, cy = x0 + slot / 2, _TOP + plot_h + 8
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" '
            f'transform="rotate(-35 {cx:.1f} {cy:.1f})">{html.escape(label)}</text>'
        )
    return _frame(width, title, body, y_max)


def cdf_lines(
    points: Sequence[float], reference: Sequence[float], current: Sequence[float], title: str
) -> str:
    """Both empirical CDFs at the reference's percentile points (what KS compares)."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    n = len(points)
    body = []
    for values, color in ((reference, REFERENCE_COLOR), (current, CURRENT_COLOR)):
        if len(values) != n or n == 0:
            continue
        xs = np.linspace(_LEFT, _LEFT + plot_w, n) if n > 1 else np.array([_LEFT + plot_w / 2])
        coords = " ".join(
            f"{x:.1f},{_TOP + plot_h * (1 - float(v)):.1f}" for x, v in zip(xs, values, strict=True)
        )
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"/>'
        )
    for i in sorted({0, n // 2, n - 1}) if n else []:
        x = _LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = _TOP + plot_h + 14
        body.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{points[i]:.4g}</text>')
    return _frame(_W, title, body, 1.0)
