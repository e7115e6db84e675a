"""Tests of the transaction simulator, plus small helpers to read what it wrote."""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl

from ml_platform.lib.simulation import SimulationConfig, SimulationSummary, simulate

SMALL = SimulationConfig(customers=1_500, merchants=300, days=30, seed=7)
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIMESTAMP_COLUMNS = {"transactions": "event_timestamp", "chargebacks": "reported_at"}


def run(root: Path, config: SimulationConfig) -> tuple[SimulationSummary, Path, Path]:
    """Simulate ``config`` into ``root/out`` and ``root/truth``."""
    out_dir, truth_dir = root / "out", root / "truth"
    summary = simulate(config, out_dir, truth_dir, progress=False)
    return summary, out_dir, truth_dir


def file_date(path: Path) -> datetime.date:
    """Date in a landing file name like ``transactions_2026-01-01.csv``."""
    return datetime.date.fromisoformat(path.stem.rsplit("_", 1)[1])


def read_file(path: Path) -> pl.DataFrame:
    """Read one landing file into typed columns (CSV timestamps parsed as UTC)."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    frame = pl.read_csv(path, infer_schema=False)
    source = path.parent.name
    casts: list[pl.Expr] = []
    if source in TIMESTAMP_COLUMNS:
        column = TIMESTAMP_COLUMNS[source]
        casts.append(
            pl.col(column).str.strptime(pl.Datetime("us"), TS_FORMAT).dt.replace_time_zone("UTC")
        )
    if source == "transactions":
        casts += [
            pl.col("customer_id", "merchant_id").cast(pl.Int64),
            pl.col("amount").cast(pl.Float64),
        ]
    if source == "customers":
        casts += [
            pl.col("customer_id").cast(pl.Int64),
            pl.col("signup_date").str.to_date("%Y-%m-%d"),
            pl.col("credit_limit").cast(pl.Float64),
        ]
    return frame.with_columns(casts)


def read_source(out_dir: Path, source: str) -> pl.DataFrame:
    """Read every daily file of a source, with the file's date in ``file_date``."""
    paths = sorted(p for p in (out_dir / source).iterdir() if not p.name.startswith("."))
    frames = [read_file(p).with_columns(file_date=pl.lit(file_date(p))) for p in paths]
    return pl.concat(frames, how="vertical")


def read_truth(truth_dir: Path) -> pl.DataFrame:
    """Read the ground-truth table."""
    return pl.read_parquet(truth_dir / "transactions_truth.parquet")


def labelled_transactions(out_dir: Path, truth_dir: Path) -> pl.DataFrame:
    """Transactions joined with their truth and the customer's home country at signup."""
    customers = (
        read_source(out_dir, "customers").sort("file_date").unique("customer_id", keep="first")
    )
    truth = read_truth(truth_dir).drop("event_timestamp")
    return (
        read_source(out_dir, "transactions")
        .join(truth, on="transaction_id", how="left")
        .join(customers.select("customer_id", "home_country"), on="customer_id", how="left")
        .with_columns(
            foreign=pl.col("country") != pl.col("home_country"),
            hour=pl.col("event_timestamp").dt.hour(),
            day=(pl.col("file_date") - pl.col("file_date").min()).dt.total_days(),
        )
    )
