"""The model performance report: a self-contained HTML page with the trend of every metric."""

import base64
import html
import io
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}
tr.bad td{background:#fde2e2}
"""


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _trend_figure(history: pl.DataFrame) -> str:
    days = history.get_column("cohort_date").to_list()
    figure, (ranking, alerting) = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True)
    ranking.plot(days, history["window_roc_auc"], "-o", ms=3, label="ROC-AUC, trailing window")
    ranking.plot(days, history["roc_auc"], ".", alpha=0.6, label="ROC-AUC, one day")
    floor = (history["validation_roc_auc"] - history["margin"]).to_list()
    ranking.plot(days, floor, "--", color="#c0392b", label="validation ROC-AUC - margin")
    ranking.set_ylabel("ROC-AUC")
    ranking.legend(fontsize=8, loc="lower left")
    ranking.grid(alpha=0.3)
    for column, label in (("precision", "precision"), ("recall", "recall")):
        alerting.plot(days, history[f"window_{column}"], "-o", ms=3, label=f"{label} (trailing)")
    alerting.set_ylabel("at the threshold")
    rate = alerting.twinx()
    rate.plot(days, history["window_alert_rate"], ":", color="#555", label="alert rate")
    rate.set_ylabel("alert rate")
    alerting.legend(fontsize=8, loc="upper left")
    alerting.grid(alpha=0.3)
    alerting.set_xlabel("transaction day (labels matured)")
    figure.autofmt_xdate()
    return _png(figure)


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def render_performance_report(path: Path, history: pl.DataFrame) -> Path:
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
<img alt="trend" src="data:image/png;base64,{_trend_figure(history)}">
<h2>Daily figures</h2><table><tr>{header}</tr>{body}</table></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(page)
    os.replace(temporary, path)
    return path
