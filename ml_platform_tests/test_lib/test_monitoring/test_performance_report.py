"""The performance report: one self-contained page with the trend and the verdict."""

import datetime as dt
from pathlib import Path

from ml_platform.lib.monitoring.performance import PERFORMANCE_SCHEMA, performance_frame
from ml_platform.lib.monitoring.performance_report import render_performance_report


def _row(i: int, degraded: bool) -> dict:
    day = dt.date(2026, 3, 1) + dt.timedelta(days=i)
    row = dict.fromkeys(PERFORMANCE_SCHEMA)
    row.update(
        report_date=day,
        cohort_date=day - dt.timedelta(days=30),
        window_start=day - dt.timedelta(days=36),
        model_version="4",
        rows=100,
        frauds=2,
        alerts=1,
        roc_auc=None if i == 3 else 0.9,  # a day without frauds: a gap, not a zero
        window_roc_auc=0.92 - 0.01 * i,
        validation_roc_auc=0.93,
        margin=0.03,
        degraded=degraded,
        window_rows=700,
        window_frauds=10,
        window_alerts=7,
        window_precision=0.5,
        window_recall=0.4,
        window_alert_rate=0.01,
    )
    return row


def test_report_shows_the_trend_and_the_verdict(tmp_path: Path) -> None:
    history = performance_frame([_row(i, degraded=i >= 5) for i in range(8)])
    path = render_performance_report(tmp_path / "reports" / "p.html", history)
    page = path.read_text()
    assert page.count("<svg") == 3  # ROC-AUC, precision/recall, alert rate
    assert "DEGRADED: retraining will be requested" in page
    assert page.count('<tr class="bad">') == 3
    assert "http://" not in page and "https://" not in page
    assert not list(path.parent.glob("*.tmp"))
    assert path.stat().st_mode & 0o044  # readable by others, like the drift reports


def test_a_healthy_newest_day_is_said_so(tmp_path: Path) -> None:
    history = performance_frame([_row(0, degraded=True), _row(1, degraded=False)])
    page = render_performance_report(tmp_path / "p.html", history).read_text()
    assert "within the margin of the validation figure" in page
