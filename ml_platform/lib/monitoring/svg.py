"""Small inline SVG charts for the HTML reports: fast (milliseconds), crisp, self-contained.

A day's drift report has a chart per model feature; matplotlib took ~8 s per report for
them, this takes a few milliseconds, which matters when a backfill writes a report per day.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass

REFERENCE_COLOR, CURRENT_COLOR = "#7f8fa6", "#d0573b"
_W, _H = 560, 190  # chart size in px
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 18, 58  # margins
_PLOT_H = _H - _TOP - _BOTTOM


@dataclass(frozen=True)
class Series:
    """One line of a line chart: ``None`` values leave a gap."""

    label: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


def _y(value: float, low: float, high: float) -> float:
    return _TOP + _PLOT_H * (1 - (value - low) / ((high - low) or 1.0))


def _frame(
    width: int, title: str, body: list[str], low: float, high: float, legend: list[Series]
) -> str:
    ticks = []
    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        y = _y(value, low, high)
        ticks.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{_LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{value:.2g}</text>"
        )
    keys, x = [], width - _RIGHT
    for item in reversed(legend):
        x -= 14 + 6 * len(item.label)
        keys.append(
            f'<rect x="{x}" y="4" width="9" height="9" fill="{item.color}"/>'
            f'<text x="{x + 13}" y="12">{html.escape(item.label)}</text>'
        )
    return (
        f'<svg width="{width}" height="{_H}" '
        f'font-family="sans-serif" font-size="9" role="img" aria-label="{html.escape(title)}">'
        f'<text x="{_LEFT}" y="12" font-size="10">{html.escape(title)}</text>'
        + "".join(ticks)
        + "".join(body)
        + "".join(keys)
        + "</svg>"
    )


def grouped_bars(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float], title: str
) -> str:
    """Reference and current shares side by side for each bin or category."""
    n = max(len(labels), 1)
    width = max(_W, _LEFT + _RIGHT + 26 * n)
    plot_w = width - _LEFT - _RIGHT
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
                h = _PLOT_H * values[i] / y_max
                body.append(
                    f'<rect x="{x0 + offset * slot:.1f}" y="{_TOP + _PLOT_H - h:.1f}" '
                    f'width="{0.4 * slot:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{html.escape(label)}: {values[i]:.4f}</title></rect>"
                )
        cx, cy = x0 + slot / 2, _TOP + _PLOT_H + 8
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" '
            f'transform="rotate(-35 {cx:.1f} {cy:.1f})">{html.escape(label)}</text>'
        )
    legend = [Series("reference", [], REFERENCE_COLOR), Series("current", [], CURRENT_COLOR)]
    return _frame(width, title, body, 0.0, y_max, legend)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines over evenly spaced points; the first, middle and last points are labelled.

    Args:
        x_labels: One label per point.
        series: The lines (each with one value per point, ``None`` for a gap).
        title: Chart title.
        y_range: Axis range; by default that of the values.
    """
    n = len(x_labels)
    plot_w = _W - _LEFT - _RIGHT
    present = [v for s in series for v in s.values if v is not None]
    low, high = y_range or ((min(present), max(present)) if present else (0.0, 1.0))
    xs = [_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    body = []
    for item in series:
        runs: list[list[str]] = [[]]
        for x, value in zip(xs, item.values, strict=False):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x:.1f},{_y(value, low, high):.1f}")
        dash = ' stroke-dasharray="4 3"' if item.dashed else ""
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{item.color}"/>')
            elif run:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{item.color}" '
                    f'stroke-width="1.5"{dash}/>'
                )
    for i in sorted({0, n // 2, n - 1}) if n else []:
        y = _TOP + _PLOT_H + 14
        label = html.escape(x_labels[i])
        # the end labels hang inwards so they are never clipped by the chart's edge
        anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
        body.append(f'<text x="{xs[i]:.1f}" y="{y}" text-anchor="{anchor}">{label}</text>')
    return _frame(_W, title, body, low, high, list(series))


def cdf_lines(
    points: Sequence[float], reference: Sequence[float], current: Sequence[float], title: str
) -> str:
    """Both empirical CDFs at the reference's percentile points (what KS compares)."""
    lines = [Series("reference", reference, REFERENCE_COLOR)]
    if len(current) == len(points):  # empty when the day has no non-null value
        lines.append(Series("current", current, CURRENT_COLOR))
    return line_chart([f"{p:.4g}" for p in points], lines, title, (0.0, 1.0))


def horizontal_bars(
    title: str, labels: Sequence[str], values: Sequence[float], color: str = "#3b6ea8"
) -> str:
    """A standalone SVG document: one labelled horizontal bar per value, in the given order.

    Bars are scaled to the largest value (negative values draw no bar); each shows its value.
    Unlike the inline charts above it declares the SVG namespace, so it opens as a file (the
    MLflow UI previews ``.svg`` artifacts as images).
    """
    row, top, bar_width = 14, 22, 380
    label_width = 10 + 6 * max((len(label) for label in labels), default=0)
    width, height = label_width + bar_width + 60, top + row * len(values) + 6
    high = max(values, default=0.0) or 1.0
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y, length = top + i * row, bar_width * max(value, 0.0) / high
        bars.append(
            f'<text x="{label_width - 6}" y="{y + 10}" text-anchor="end">{html.escape(label)}'
            f'</text><rect x="{label_width}" y="{y + 2}" width="{length:.1f}" '
            f'height="{row - 4}" fill="{color}"/><text x="{label_width + length + 4:.1f}" '
            f'y="{y + 10}">{value:.3g}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="9" role="img" '
        f'aria-label="{html.escape(title)}"><rect width="100%" height="100%" fill="white"/>'
        f'<text x="{label_width}" y="13" font-size="11">{html.escape(title)}</text>'
        + "".join(bars)
        + "</svg>"
    )
