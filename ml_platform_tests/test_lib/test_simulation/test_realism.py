from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.simulation import SimulationSummary, roc_auc
from ml_platform_tests.test_lib.test_simulation import (
    SMALL,
    labelled_transactions,
    read_source,
    read_truth,
    run,
)

RISKY = ["gift_cards", "electronics", "digital_goods"]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, Path, Path]:
    return run(tmp_path_factory.mktemp("realism"), SMALL)


@pytest.fixture(scope="module")
def labelled(small: tuple[SimulationSummary, Path, Path]) -> pl.DataFrame:
    _, out_dir, truth_dir = small
    return labelled_transactions(out_dir, truth_dir)


def test_volume_is_about_one_transaction_per_customer_day(
    small: tuple[SimulationSummary, Path, Path],
) -> None:
    summary, _, _ = small
    per_customer_day = summary.transactions / (SMALL.customers * SMALL.days)
    assert 0.85 <= per_customer_day <= 1.25


def test_fraud_rate_and_oracle_auc_targets(small: tuple[SimulationSummary, Path, Path]) -> None:
    summary, _, truth_dir = small
    assert 0.003 <= summary.fraud_rate <= 0.03
    assert summary.oracle_roc_auc is not None
    assert 0.90 <= summary.oracle_roc_auc <= 0.99
    truth = read_truth(truth_dir)
    recomputed = roc_auc(truth["p_fraud"].to_numpy(), truth["is_fraud"].to_numpy())
    assert recomputed == pytest.approx(summary.oracle_roc_auc)
    assert truth["p_fraud"].is_between(0, 1).all()


def test_fraud_comes_mostly_from_episodes(small: tuple[SimulationSummary, Path, Path]) -> None:
    summary, _, truth_dir = small
    truth = read_truth(truth_dir)
    fraud = truth.filter("is_fraud")
    assert 0.7 <= fraud["in_episode"].mean() <= 0.97
    episode_p = truth.filter("in_episode")["p_fraud"].mean()
    other_p = truth.filter(~pl.col("in_episode"))["p_fraud"]
    assert episode_p > 0.6
    assert other_p.mean() < 0.005
    assert other_p.std() > 0  # depends on the merchant's risk
    assert summary.fraud_episodes > 0


def test_episodes_are_short_bursts_on_one_card(labelled: pl.DataFrame) -> None:
    bursts = (
        labelled.filter("in_episode")
        .group_by("customer_id")
        .agg(n=pl.len(), span=(pl.col("day").max() - pl.col("day").min()))
    )
    assert bursts["n"].mean() >= 3
    # An episode lasts 1-3 days (a card can rarely be hit twice in the window).
    assert (bursts["span"] <= 2).mean() >= 0.9


def test_fraud_tends_to_look_different_but_not_always(labelled: pl.DataFrame) -> None:
    stats = labelled.group_by("is_fraud").agg(
        amount=pl.col("amount").median(),
        foreign=pl.col("foreign").mean(),
        night=(pl.col("hour") < 6).mean(),
        online_atm=pl.col("channel").is_in(["online", "atm"]).mean(),
        risky=pl.col("merchant_category").is_in(RISKY).mean(),
        small_domestic=(~pl.col("foreign") & (pl.col("amount") < 5)).mean(),
    )
    fraud = stats.filter("is_fraud").row(0, named=True)
    legit = stats.filter(~pl.col("is_fraud")).row(0, named=True)
    assert fraud["amount"] > 1.5 * legit["amount"]
    assert fraud["foreign"] > 4 * legit["foreign"]
    assert fraud["night"] > 2.5 * legit["night"]
    assert fraud["online_atm"] > 1.5 * legit["online_atm"]
    assert fraud["risky"] > 2.5 * legit["risky"]
    # Tendencies, not rules: legit spending abroad and at night exists, and some fraud is
    # domestic (including small card-testing charges).
    assert 0.01 <= legit["foreign"] <= 0.1
    assert 0.03 <= legit["night"] <= 0.2
    assert legit["risky"] >= 0.05
    assert fraud["foreign"] <= 0.8
    assert fraud["small_domestic"] >= 0.02


def test_customers_have_their_own_habits(labelled: pl.DataFrame) -> None:
    per_customer = (
        labelled.filter(~pl.col("in_episode"))
        .group_by("customer_id")
        .agg(
            n=pl.len(),
            median_amount=pl.col("amount").median(),
            top_category_share=pl.col("merchant_category")
            .value_counts(sort=True)
            .first()
            .struct.field("count")
            / pl.len(),
        )
    )
    counts = per_customer["n"].to_numpy()
    assert counts.var() > 3 * counts.mean()  # over-dispersed: gamma-distributed rates
    q10, q90 = np.quantile(per_customer["median_amount"].to_numpy(), [0.1, 0.9])
    assert q90 > 2.5 * q10  # lognormal typical amounts
    regular = per_customer.filter(pl.col("n") >= 20)
    assert regular["top_category_share"].median() > 0.3  # preferred categories


def test_diurnal_pattern(labelled: pl.DataFrame) -> None:
    hours = labelled.filter(~pl.col("is_fraud"))["hour"].value_counts().sort("hour")
    count = dict(zip(hours["hour"].to_list(), hours["count"].to_list(), strict=True))
    assert min(count[h] for h in (12, 18, 19)) > 3 * max(count[h] for h in (2, 3, 4))


def test_home_countries_and_merchants(small: tuple[SimulationSummary, Path, Path]) -> None:
    _, out_dir, _ = small
    first = read_source(out_dir, "customers").filter(pl.col("file_date") == SMALL.start)
    shares = first["home_country"].value_counts(normalize=True).sort("proportion")
    assert shares["home_country"][-1] == "US"
    assert 0.5 <= shares["proportion"][-1] <= 0.75
    assert shares.height >= 8
    tx = read_source(out_dir, "transactions")
    per_merchant = tx.group_by("merchant_id").agg(
        categories=pl.col("merchant_category").n_unique(), countries=pl.col("country").n_unique()
    )
    assert (per_merchant["categories"] == 1).all()
    assert (per_merchant["countries"] == 1).all()
    atm = tx.filter(pl.col("channel") == "atm")["merchant_category"].unique().to_list()
    assert atm == ["cash_withdrawal"]


def test_chargebacks_arrive_late_and_not_always(
    small: tuple[SimulationSummary, Path, Path],
) -> None:
    summary, _, truth_dir = small
    truth = read_truth(truth_dir)
    fraud = truth.filter("is_fraud")
    never = fraud["chargeback_reported_at"].is_null().mean()
    assert 0.05 <= never <= 0.15
    assert summary.fraud_reported_share == pytest.approx(1 - never)
    delay = fraud.drop_nulls("chargeback_reported_at").select(
        days=(pl.col("chargeback_reported_at") - pl.col("event_timestamp")).dt.total_seconds()
        / 86_400
    )["days"]
    assert (delay > 0).all()
    assert delay.is_between(1, 60).mean() >= 0.95
    assert 4 <= delay.median() <= 20
    false = truth.filter("false_chargeback")
    assert not false["is_fraud"].any()
    assert false.height <= 0.001 * truth.height
