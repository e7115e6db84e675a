from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.simulation import SCENARIOS, SimulationConfig, SimulationSummary
from ml_platform_tests.test_lib.test_simulation import SMALL, file_date, labelled_transactions, run

ONSET = 18
SHIFTED = ["restaurants", "entertainment", "digital_goods"]
Run = tuple[SimulationSummary, Path, Path]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("scenarios")
    return {
        scenario: run(
            root / scenario, dataclasses.replace(SMALL, scenario=scenario, onset_day=ONSET)
        )
        for scenario in SCENARIOS
    }


@pytest.fixture(scope="module")
def labelled(runs: dict[str, Run]) -> dict[str, pl.DataFrame]:
    return {name: labelled_transactions(out, truth) for name, (_, out, truth) in runs.items()}


@pytest.mark.parametrize("scenario", SCENARIOS[1:])
def test_days_before_onset_are_identical_to_none(runs: dict[str, Run], scenario: str) -> None:
    summary, out_dir, _ = runs[scenario]
    _, none_dir, _ = runs["none"]
    onset_date = SMALL.start + datetime.timedelta(days=ONSET)
    assert summary.onset_date == onset_date
    compared = 0
    for path in sorted(out_dir.rglob("*.csv")):
        if file_date(path) < onset_date:
            assert path.read_bytes() == (none_dir / path.relative_to(out_dir)).read_bytes(), path
            compared += 1
    assert compared == 3 * ONSET


def _daily_mean_amount(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("day").agg(pl.col("amount").mean()).sort("day")


def test_amount_inflation_ramps_up_to_about_1_6(labelled: dict[str, pl.DataFrame]) -> None:
    ratio = (
        _daily_mean_amount(labelled["amount_inflation"])
        .join(_daily_mean_amount(labelled["none"]), on="day", suffix="_none")
        .select("day", ratio=pl.col("amount") / pl.col("amount_none"))
    )
    by_day = dict(ratio.iter_rows())
    assert all(by_day[d] == pytest.approx(1.0, abs=1e-9) for d in range(ONSET))
    assert 1.03 <= by_day[ONSET] <= 1.15
    assert by_day[ONSET] < by_day[ONSET + 3] < by_day[ONSET + 6]
    assert all(1.5 <= by_day[d] <= 1.7 for d in range(ONSET + 6, SMALL.days))


def test_new_fraud_pattern_is_domestic_daytime_small_and_frequent(
    labelled: dict[str, pl.DataFrame],
) -> None:
    frame = labelled["new_fraud_pattern"]
    fraud = frame.filter("is_fraud").with_columns(
        new_look=~pl.col("foreign")
        & pl.col("hour").is_between(9, 17)
        & (pl.col("amount") < 50)
        & (pl.col("merchant_category") == "digital_goods")
        & (pl.col("channel") == "online")
    )
    before = fraud.filter(pl.col("day") < ONSET)
    after = fraud.filter(pl.col("day") >= ONSET + 3)
    assert before["new_look"].mean() < 0.1
    assert after["new_look"].mean() > 0.6
    per_day_before = before.height / ONSET
    per_day_after = after.height / (SMALL.days - ONSET - 3)
    assert per_day_after > 1.5 * per_day_before
    legit_after = frame.filter(~pl.col("is_fraud") & (pl.col("day") >= ONSET + 3))
    assert after["amount"].median() < legit_after["amount"].median()
    # The baseline run keeps the classic pattern all along.
    baseline = labelled["none"].filter(pl.col("is_fraud") & (pl.col("day") >= ONSET + 3))
    assert (~baseline["foreign"] & baseline["hour"].is_between(9, 17)).mean() < 0.45


def test_category_shift_moves_spending_but_not_fraud(labelled: dict[str, pl.DataFrame]) -> None:
    def share(frame: pl.DataFrame) -> float:
        legit = frame.filter(~pl.col("in_episode"))
        return float(legit["merchant_category"].is_in(SHIFTED).mean())

    shifted = labelled["category_shift"]
    before = share(shifted.filter(pl.col("day") < ONSET))
    after = share(shifted.filter(pl.col("day") >= ONSET + 6))
    baseline_after = share(labelled["none"].filter(pl.col("day") >= ONSET + 6))
    assert after > before + 0.3
    assert after > baseline_after + 0.3
    columns = ["customer_id", "merchant_id", "amount", "merchant_category", "event_timestamp"]
    episodes = shifted.filter("in_episode").select(columns).sort(columns)
    baseline_episodes = labelled["none"].filter("in_episode").select(columns).sort(columns)
    assert episodes.equals(baseline_episodes)


def test_default_onset_is_sixty_percent_into_the_range(tmp_path: Path) -> None:
    config = SimulationConfig(customers=50, merchants=50, days=10, scenario="category_shift")
    summary, _, truth_dir = run(tmp_path, config)
    assert summary.onset_date == config.start + datetime.timedelta(days=6)
    assert (truth_dir / "summary.json").read_text().count('"onset_date": "2026-01-07"') == 1
