"""The HTML drift report (self-contained, escaped, small) and the markdown summary."""

import dataclasses
import datetime as dt
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.lib.monitoring.drift import DriftThresholds, FeatureDrift, feature_drift
from ml_platform.lib.monitoring.report import _bin_labels, drift_markdown, render_drift_report
from ml_platform.lib.training.reference import numeric_reference, reference_distribution

ROWS = 3_000
ODD_NAME = 'amount<b>&"x"'
IMG = '<div class="chart"><svg'


@pytest.fixture(scope="module")
def case() -> tuple[dict, pd.DataFrame, np.ndarray, list[FeatureDrift]]:
    rng = np.random.default_rng(5)
    training = pd.DataFrame(
        {
            ODD_NAME: rng.lognormal(3.0, 1.0, size=ROWS),
            "count_7d": rng.poisson(2.0, size=ROWS).astype(np.float64),
            "channel_code": rng.choice(3, size=ROWS, p=[0.6, 0.3, 0.1]).astype(np.float64),
        }
    )
    reference = reference_distribution(training)
    reference["score"] = numeric_reference(rng.beta(1, 20, size=ROWS))
    current = training.sample(frac=1.0, random_state=1).reset_index(drop=True)
    current[ODD_NAME] *= 2.0
    scores = rng.beta(1, 20, size=ROWS)
    importance = {ODD_NAME: 0.5, "count_7d": 0.3, "channel_code": 0.2}
    results = feature_drift(reference, current, scores, importance)
    return reference, current, scores, results


def _render(path: Path, case: tuple) -> str:
    reference, current, scores, results = case
    written = render_drift_report(
        path, dt.date(2024, 3, 1), "12", results, reference, current, scores, DriftThresholds()
    )
    assert written == path
    return path.read_text(encoding="utf-8")


def test_report_is_one_self_contained_file(case: tuple, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "drift.html"
    page = _render(path, case)
    results = case[3]
    assert page.count(IMG) == len(results) == 4  # three features and the score
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page
    assert path.stat().st_size < 60_000 * len(results) + 20_000
    assert [p.name for p in path.parent.iterdir()] == ["drift.html"]  # no temp file left


def test_report_content(case: tuple, tmp_path: Path) -> None:
    page = _render(tmp_path / "drift.html", case)
    results = case[3]
    assert "2024-03-01" in page and "model version 12" in page
    assert ODD_NAME not in page
    assert html.escape(ODD_NAME) in page
    assert "1 of 3 features drifted" in page
    assert "PSI &gt;= 0.1" in page and "200 rows" in page  # the thresholds
    assert page.count('<tr class="drifted">') == sum(r.drifted for r in results) == 1
    # table in result order (drifted first); sections with the score first
    table = page[page.index("<table>") : page.index("</table>")]
    linked = re.findall(r'<a href="#f\d+">([^<]*)</a>', table)
    assert linked == [html.escape(r.feature) for r in results]
    sections = re.findall(r'<h2 id="f\d+">([^<]*) <small>', page)
    assert sections[0] == "score"
    assert sections[1:] == [html.escape(r.feature) for r in results if r.kind != "score"]


def test_report_without_scores(case: tuple, tmp_path: Path) -> None:
    reference, current, _, _ = case
    results = feature_drift(reference, current, None, {})
    path = render_drift_report(
        tmp_path / "r.html", dt.date(2024, 3, 1), "1", results, reference, current, None,
        DriftThresholds(),
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    assert page.count(IMG) == 3
    assert "score PSI not computed" in page


def test_report_replaces_an_existing_file(case: tuple, tmp_path: Path) -> None:
    path = tmp_path / "drift.html"
    path.write_text("old")
    assert _render(path, case).startswith("<!DOCTYPE html>")


def test_bin_labels() -> None:
    assert _bin_labels([1.2, 3.4, 9.9]) == ["<1.2", "[1.2, 3.4)", "[3.4, 9.9)", ">=9.9"]
    assert _bin_labels([]) == []
    assert _bin_labels([0.5, 0.5001]) == ["<0.5", "[0.5, 0.5001)", ">=0.5001"]  # distinct


def test_drift_markdown(case: tuple) -> None:
    results = case[3]
    table = drift_markdown(results)
    lines = table.splitlines()
    assert lines[0] == "| feature | PSI | KS/JS | importance | drifted |"
    assert len(lines) == 2 + len(results)
    first = results[0]
    assert lines[2] == (
        f"| {first.feature.replace('|', chr(92) + '|')} | {first.psi:.3f} | {first.ks:.3f} | "
        "50.0% | yes |"
    )
    channel = next(line for line in lines if line.startswith("| channel_code"))
    js = next(r for r in results if r.feature == "channel_code").js_distance
    assert f"| {js:.3f} |" in channel and channel.endswith("| no |")
    short = drift_markdown(results, limit=2).splitlines()
    assert len(short) == 2 + 2 + 2 and short[-1] == "… and 2 more"


def test_drift_markdown_escapes_pipes() -> None:
    drift = FeatureDrift("a|b", "numeric", 0.2, 0.05, None, 0.0, 0.0, 10, 0.0, False, False, "")
    assert "| a\\|b | 0.200 | 0.050 | 0.0% | not judged |" in drift_markdown([drift])


def test_a_day_with_nothing_judged_says_so_and_takes_its_title(case: tuple, tmp_path: Path) -> None:
    reference, current, scores, results = case
    unjudged = [dataclasses.replace(r, drifted=False, judged=False) for r in results]
    page = render_drift_report(
        tmp_path / "d.html",
        dt.date(2024, 3, 1),
        "12",
        unjudged,
        reference,
        current,
        scores,
        DriftThresholds(),
        title="Online drift report",
    ).read_text(encoding="utf-8")
    assert "no feature judged" in page and "0 of 0" not in page
    assert "<h1>Online drift report 2024-03-01, model version 12</h1>" in page
