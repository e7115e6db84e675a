from __future__ import annotations

import dataclasses
import datetime
import json
import re
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.simulation import SimulationSummary
from ml_platform.lib.simulation.catalog import CATEGORIES
from ml_platform_tests.test_lib.test_simulation import (
    SMALL,
    file_date,
    read_source,
    read_truth,
    run,
)

HEADERS = {
    "transactions": "transaction_id,customer_id,merchant_id,amount,merchant_category,channel,"
    "country,event_timestamp",
    "chargebacks": "transaction_id,reported_at",
    "customers": "customer_id,signup_date,home_country,credit_limit",
}
TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
TRANSACTION_LINE = re.compile(
    rf"^tx-\d{{10}},\d+,\d+,\d+\.\d{{2}},[a-z_]+,(online|pos|atm),[A-Z]{{2}},{TS}$"
)
CUSTOMER_LINE = re.compile(r"^\d+,\d{4}-\d{2}-\d{2},[A-Z]{2},\d+\.\d{2}$")
CHARGEBACK_LINE = re.compile(rf"^tx-\d{{10}},{TS}$")
LINE_PATTERNS = {
    "transactions": TRANSACTION_LINE,
    "customers": CUSTOMER_LINE,
    "chargebacks": CHARGEBACK_LINE,
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, Path, Path]:
    return run(tmp_path_factory.mktemp("small"), SMALL)


@pytest.fixture(scope="module")
def small_parquet(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SimulationSummary, Path, Path]:
    config = dataclasses.replace(SMALL, customers=400, days=8, file_format="parquet")
    return run(tmp_path_factory.mktemp("parquet"), config)


@pytest.mark.parametrize("source", ["transactions", "chargebacks", "customers"])
def test_one_file_per_source_per_day_with_exact_header(
    small: tuple[SimulationSummary, Path, Path], source: str
) -> None:
    summary, out_dir, _ = small
    paths = sorted((out_dir / source).iterdir())
    expected_dates = [SMALL.start + datetime.timedelta(days=d) for d in range(SMALL.days)]
    assert [p.name for p in paths] == [f"{source}_{d.isoformat()}.csv" for d in expected_dates]
    assert set(paths) <= set(summary.files)
    pattern = LINE_PATTERNS[source]
    for path in paths:
        header, *lines = path.read_text(encoding="utf-8").splitlines()
        assert header == HEADERS[source]
        bad = [line for line in lines if not pattern.match(line)]
        assert not bad, f"{path.name}: {bad[:3]}"


def test_an_empty_day_still_has_its_header(small: tuple[SimulationSummary, Path, Path]) -> None:
    _, out_dir, _ = small
    first = out_dir / "chargebacks" / f"chargebacks_{SMALL.start.isoformat()}.csv"
    assert first.read_text(encoding="utf-8") == HEADERS["chargebacks"] + "\n"


def test_transactions_contract(small: tuple[SimulationSummary, Path, Path]) -> None:
    summary, out_dir, _ = small
    tx = read_source(out_dir, "transactions")
    assert tx.height == summary.transactions
    assert tx["transaction_id"].is_unique().all()
    assert (tx["event_timestamp"].dt.date() == tx["file_date"]).all()
    assert (tx["amount"] > 0).all()
    assert set(tx["merchant_category"].unique()) <= set(CATEGORIES)
    assert set(tx["channel"].unique()) == {"online", "pos", "atm"}
    assert tx["country"].str.contains(r"^[A-Z]{2}$").all()
    for _, day in tx.group_by("file_date"):
        assert day.equals(day.sort("event_timestamp", "transaction_id"))


def test_transaction_ids_are_deterministic_and_sequential(
    small: tuple[SimulationSummary, Path, Path],
) -> None:
    _, out_dir, _ = small
    ids = read_source(out_dir, "transactions").sort("file_date", maintain_order=True)
    expected = [f"tx-{n:010d}" for n in range(ids.height)]
    assert ids["transaction_id"].to_list() == expected


def test_chargebacks_contract(small: tuple[SimulationSummary, Path, Path]) -> None:
    summary, out_dir, _ = small
    chargebacks = read_source(out_dir, "chargebacks")
    tx = read_source(out_dir, "transactions").select("transaction_id", "event_timestamp")
    assert chargebacks.height == summary.chargebacks > 0
    assert chargebacks["transaction_id"].is_unique().all()
    assert (chargebacks["reported_at"].dt.date() == chargebacks["file_date"]).all()
    joined = chargebacks.join(tx, on="transaction_id", how="left")
    assert joined["event_timestamp"].null_count() == 0
    assert (joined["reported_at"] > joined["event_timestamp"]).all()
    assert joined["reported_at"].dt.date().max() <= SMALL.end
    # Chargebacks due after the last day are not known yet, so not written.
    assert summary.chargebacks_after_end > 0


def test_customers_first_day_holds_the_existing_base(
    small: tuple[SimulationSummary, Path, Path],
) -> None:
    _, out_dir, _ = small
    customers = read_source(out_dir, "customers")
    first = customers.filter(pl.col("file_date") == SMALL.start)
    before = first.filter(pl.col("signup_date") < SMALL.start)
    assert before.height == SMALL.customers
    span = (SMALL.start - before["signup_date"].min()).days
    assert 900 <= span <= 3 * 366
    assert first.filter(pl.col("signup_date") >= SMALL.start)["signup_date"].eq(SMALL.start).all()
    assert first["customer_id"].is_unique().all()
    assert (first["credit_limit"] > 0).all()


def test_customers_later_days_hold_signups_and_slow_changes(
    small: tuple[SimulationSummary, Path, Path],
) -> None:
    summary, out_dir, _ = small
    customers = read_source(out_dir, "customers")
    assert customers.height == summary.customers
    later = customers.filter(pl.col("file_date") > SMALL.start)
    for _, day in later.group_by("file_date"):
        assert day["customer_id"].is_unique().all()
    signups = later.filter(pl.col("signup_date") == pl.col("file_date"))
    updates = later.filter(pl.col("signup_date") < pl.col("file_date"))
    assert signups.height + updates.height == later.height
    # A customer who signs up during the range first appears in that day's file.
    first_seen = (
        customers.filter(pl.col("signup_date") >= SMALL.start)
        .group_by("customer_id")
        .agg(pl.col("file_date").min(), pl.col("signup_date").first())
    )
    assert (first_seen["signup_date"] == first_seen["file_date"]).all()
    assert first_seen.height == summary.new_signups > 0
    assert first_seen.height == summary.distinct_customers - SMALL.customers
    assert updates.height == summary.customer_updates
    daily_update_share = updates.height / (SMALL.days - 1) / SMALL.customers
    assert 0.0005 <= daily_update_share <= 0.002
    # Each update changes credit limit or home country relative to the previous record.
    history = customers.sort("file_date", "customer_id").with_columns(
        prev_limit=pl.col("credit_limit").shift(1).over("customer_id"),
        prev_home=pl.col("home_country").shift(1).over("customer_id"),
    )
    changed = history.filter(pl.col("prev_limit").is_not_null())
    raised = changed["credit_limit"] > changed["prev_limit"]
    moved = changed["home_country"] != changed["prev_home"]
    assert (raised | moved).all()
    assert raised.any() and moved.any()


def test_transactions_start_after_signup(small: tuple[SimulationSummary, Path, Path]) -> None:
    _, out_dir, _ = small
    signups = (
        read_source(out_dir, "customers").group_by("customer_id").agg(pl.col("signup_date").first())
    )
    tx = read_source(out_dir, "transactions").join(signups, on="customer_id", how="left")
    assert tx["signup_date"].null_count() == 0
    assert (tx["event_timestamp"].dt.date() > tx["signup_date"]).all()
    new_customer_tx = tx.filter(pl.col("signup_date") >= SMALL.start)
    assert new_customer_tx.height > 0


def test_parquet_files_have_typed_columns(
    small_parquet: tuple[SimulationSummary, Path, Path],
) -> None:
    summary, out_dir, _ = small_parquet
    expected = {
        "transactions": {
            "transaction_id": pl.String,
            "customer_id": pl.Int64,
            "merchant_id": pl.Int64,
            "amount": pl.Float64,
            "merchant_category": pl.String,
            "channel": pl.String,
            "country": pl.String,
            "event_timestamp": pl.Datetime("us", "UTC"),
        },
        "chargebacks": {"transaction_id": pl.String, "reported_at": pl.Datetime("us", "UTC")},
        "customers": {
            "customer_id": pl.Int64,
            "signup_date": pl.Date,
            "home_country": pl.String,
            "credit_limit": pl.Float64,
        },
    }
    assert len(summary.files) == 3 * 8
    for path in summary.files:
        assert path.suffix == ".parquet"
        schema = pl.read_parquet_schema(path)
        assert dict(schema) == expected[path.parent.name], path.name
        assert path.stem.startswith(path.parent.name + "_")
        assert file_date(path) >= SMALL.start
    tx = read_source(out_dir, "transactions")
    assert tx.height == summary.transactions
    assert ((tx["amount"] * 100).round(6) % 1 == 0).all()


def test_truth_and_summary_are_written(small: tuple[SimulationSummary, Path, Path]) -> None:
    summary, out_dir, truth_dir = small
    truth = read_truth(truth_dir)
    assert {
        "transaction_id",
        "p_fraud",
        "is_fraud",
        "in_episode",
        "chargeback_reported_at",
    } <= set(truth.columns)
    assert truth.height == summary.transactions
    assert int(truth["is_fraud"].sum()) == summary.fraud_transactions
    assert truth.filter(pl.col("chargeback_in_range")).height == summary.chargebacks
    written = json.loads((truth_dir / "summary.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(summary.to_dict()))
    assert written["onset_date"] is None
    assert written["scenario"] == "none"
    assert len(written["files"]) == 3 * SMALL.days
    assert all(Path(f).is_relative_to(out_dir) for f in written["files"])
