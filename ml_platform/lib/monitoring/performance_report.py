"""The model performance report: a self-contained HTML page with the trend of every metric."""

import html
from pathlib import Path

import polars as pl

from ml_platform.lib.monitoring.report import write_atomically
from ml_platform.lib.monitoring.svg import Series, line_chart

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}
tr.bad td{background:#fde2e2}
"""


def _trend_charts(history: pl.DataFrame) -> str:
    days = [str(d) for d in history.get_column("cohort_date").to_list()]
    floor = (history["validation_roc_auc"] - history["margin"]).to_list()
    ranking = line_chart(
        days,
        [
            Series("trailing ROC-AUC", history["window_roc_auc"].to_list(), "#1f5fa8"),
            Series("one day", history["roc_auc"].to_list(), "#9bb7d9"),
            Series("validation - margin", floor, "#c0392b", dashed=True),
        ],
        "ROC-AUC by transaction day (labels matured)",
    )
    alerting = line_chart(
        days,
        [
            Series("precision", history["window_precision"].to_list(), "#2e8b57"),
            Series("recall", history["window_recall"].to_list(), "#d0573b"),
        ],
        "trailing precision and recall at the decision threshold",
        (0.0, 1.0),
    )
    rate = line_chart(
        days,
        [Series("alert rate", history["window_alert_rate"].to_list(), "#555")],
        "trailing alert rate",
    )
    return ranking + alerting + rate


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def render_performance_report(path: str | Path, history: pl.DataFrame) -> str | Path:
    """Write the report of the newest row of ``history`` with the trend of all rows.

    Args:
        path: The HTML file to write (parents are created; replaced atomically).
        history: ``monitoring/model_performance`` rows, oldest first (at least one).

    Returns:
        ``path``.
    """
    newest = history.row(-1, named=True)
    columns = (
        "report_date",
        "cohort_date",
        "model_version",
        "rows",
        "frauds",
        "alerts",
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "alert_rate",
        "window_roc_auc",
        "validation_roc_auc",
        "degraded",
    )
    header = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr class="{"bad" if row["degraded"] else ""}">'
        + "".join(f"<td>{_cell(row[c])}</td>" for c in columns)
        + "</tr>"
        for row in reversed(history.rows(named=True))
    )
    verdict = (
        "DEGRADED: retraining will be requested"
        if newest["degraded"]
        else "within the margin of the validation figure"
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Model performance {newest["report_date"]}</title><style>{_STYLE}</style></head><body>
<h1>Model performance reported {newest["report_date"]}</h1>
<p>Transactions of {newest["cohort_date"]} (labels as known at the end of
{newest["report_date"]}), scored by model v{html.escape(str(newest["model_version"]))};
trailing window {newest["window_start"]} … {newest["cohort_date"]}:
ROC-AUC {_cell(newest["window_roc_auc"])} against a validation ROC-AUC of
{_cell(newest["validation_roc_auc"])} (margin {newest["margin"]}): <b>{verdict}</b>.</p>
<div class="chart">{_trend_charts(history)}</div>
<h2>Daily figures</h2><table><tr>{header}</tr>{body}</table></body></html>"""
    return write_atomically(path, page)
