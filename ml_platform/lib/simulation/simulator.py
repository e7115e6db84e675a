"""The day-by-day simulation loop that ties entities, activity, fraud and files together."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from ml_platform.lib.simulation.chargebacks import draw_chargebacks, draw_labels
from ml_platform.lib.simulation.config import SimulationConfig, validate_config
from ml_platform.lib.simulation.defects import inject_defects
from ml_platform.lib.simulation.entities import (
    Customers,
    apply_daily_updates,
    daily_signups,
    draw_merchants,
    initial_customers,
)
from ml_platform.lib.simulation.fraud import fraud_transactions, start_episodes
from ml_platform.lib.simulation.metrics import roc_auc
from ml_platform.lib.simulation.sampling import MerchantIndex
from ml_platform.lib.simulation.scenarios import effects_for_day
from ml_platform.lib.simulation.seeding import day_rngs, static_rng
from ml_platform.lib.simulation.summary import SimulationSummary
from ml_platform.lib.simulation.transactions import (
    SECONDS_PER_DAY,
    TxBatch,
    legit_transactions,
    start_trips,
)
from ml_platform.lib.simulation.writer import (
    LandingWriter,
    chargebacks_frame,
    customers_frame,
    epoch_day,
    transactions_frame,
    truth_frame,
    write_truth,
)


@dataclass
class _ChargebackQueue:
    """Chargebacks drawn but not yet reported, waiting for the day they are reported on."""

    numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reported_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, numbers: np.ndarray, reported_at: np.ndarray) -> None:
        self.numbers = np.concatenate([self.numbers, numbers])
        self.reported_at = np.concatenate([self.reported_at, reported_at])

    def pop_before(self, epoch_second: int) -> tuple[np.ndarray, np.ndarray]:
        due = self.reported_at < epoch_second
        popped = self.numbers[due], self.reported_at[due]
        self.numbers, self.reported_at = self.numbers[~due], self.reported_at[~due]
        return popped


@dataclass
class _Record:
    """Per-transaction ground truth and counters collected over the run."""

    truth: list[pl.DataFrame] = field(default_factory=list)
    p_fraud: list[np.ndarray] = field(default_factory=list)
    is_fraud: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    reported_at: list[np.ndarray] = field(default_factory=list)
    false_chargeback: list[np.ndarray] = field(default_factory=list)
    chargeback_defects: list[pl.DataFrame] = field(default_factory=list)
    transactions: int = 0
    chargebacks: int = 0
    customer_rows: int = 0
    customer_updates: int = 0
    episodes: int = 0
    defective_transactions: int = 0
    defective_chargebacks: int = 0


def _write_customers(
    writer: LandingWriter,
    config: SimulationConfig,
    customers: Customers,
    day: int,
    rows: np.ndarray,
) -> None:
    frame = customers_frame(
        customer_id=rows + 1,
        signup_epoch_day=customers.signup_day[rows] + epoch_day(config.start),
        home=customers.home[rows],
        credit_limit=customers.credit_limit[rows],
    )
    writer.write("customers", config.date_of(day), frame)


def _customers_of_day(
    config: SimulationConfig, customers: Customers, day: int, rngs: dict[str, np.random.Generator]
) -> tuple[np.ndarray, int]:
    """Grow and update the customer base; return the rows for the day's file and #updates."""
    first_new = len(customers)
    customers.append(daily_signups(rngs["signups"], config.customers, day))
    new = np.arange(first_new, len(customers))
    if day == 0:
        return np.arange(len(customers)), 0
    updated = apply_daily_updates(rngs["updates"], customers, day)
    return np.concatenate([updated, new]), len(updated)


def _write_chargebacks(
    writer: LandingWriter,
    config: SimulationConfig,
    day: int,
    rngs: dict[str, np.random.Generator],
    record: _Record,
    numbers: np.ndarray,
    reported_seconds: np.ndarray,
) -> None:
    """Write the chargebacks reported on ``day``, a share of them corrupted on purpose."""
    frame, defect = inject_defects(
        rngs["chargeback_defects"],
        chargebacks_frame(numbers, reported_seconds),
        "chargebacks",
        config.file_format,
        config.defect_rate,
    )
    writer.write("chargebacks", config.date_of(day), frame)
    record.chargebacks += frame.height
    if defect.count():
        marked = frame.select("transaction_id").with_columns(defect.alias("chargeback_defect"))
        record.chargeback_defects.append(marked.drop_nulls("chargeback_defect"))
        record.defective_chargebacks += defect.count()


def simulate(
    config: SimulationConfig, out_dir: Path, truth_dir: Path, progress: bool = True
) -> SimulationSummary:
    """Simulate card activity and write landing files plus ground truth.

    Args:
        config: What to simulate.
        out_dir: Landing folder; gets ``transactions/``, ``chargebacks/`` and ``customers/``
            with one file per day each.
        truth_dir: Folder for ``transactions_truth.parquet`` and ``summary.json``.
        progress: Show a progress bar over the days.

    Returns:
        The run summary (also written to ``truth_dir/summary.json``).

    Raises:
        ValueError: If the config is invalid.
    """
    validate_config(config)
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    customers = initial_customers(static_rng(config.seed, "customers"), config.customers)
    index = MerchantIndex(draw_merchants(static_rng(config.seed, "merchants"), config.merchants))
    writer = LandingWriter(out_dir, config.file_format)
    end_second = (epoch_day(config.end) + 1) * SECONDS_PER_DAY
    queue = _ChargebackQueue()
    record = _Record()

    days = tqdm(range(config.days), desc="simulating", unit="day", disable=not progress)
    for day in days:
        rngs = day_rngs(config.seed, day)
        effects = effects_for_day(config, day)
        date = config.date_of(day)
        day_start = epoch_day(date) * SECONDS_PER_DAY

        rows, updates = _customers_of_day(config, customers, day, rngs)
        _write_customers(writer, config, customers, day, rows)
        record.customer_rows += len(rows)
        record.customer_updates += updates

        start_trips(rngs["travel"], customers, day)
        record.episodes += start_episodes(rngs["compromise"], customers, day, effects)
        batch = TxBatch.concat(
            [
                legit_transactions(rngs["legit"], customers, index, day, date.weekday(), effects),
                fraud_transactions(rngs["fraud"], customers, index, day, effects),
            ]
        )
        batch = batch.take(np.argsort(batch.second, kind="stable"))
        numbers = record.transactions + np.arange(len(batch), dtype=np.int64)
        event_seconds = day_start + batch.second
        is_fraud = draw_labels(rngs["labels"], batch.p_fraud)
        outcomes = draw_chargebacks(rngs["chargebacks"], is_fraud, event_seconds)
        frame = transactions_frame(
            numbers,
            batch.customer + 1,
            batch.merchant + 1,
            batch.amount,
            batch.category,
            batch.channel,
            batch.country,
            event_seconds,
        )
        frame, defect = inject_defects(
            rngs["defects"], frame, "transactions", config.file_format, config.defect_rate
        )
        writer.write("transactions", date, frame)
        record.transactions += len(batch)
        record.defective_transactions += defect.count()

        reported = outcomes.has_chargeback
        queue.add(numbers[reported], outcomes.reported_at[reported])
        cb_numbers, cb_seconds = queue.pop_before(day_start + SECONDS_PER_DAY)
        _write_chargebacks(writer, config, day, rngs, record, cb_numbers, cb_seconds)

        record.truth.append(
            truth_frame(
                numbers,
                event_seconds,
                batch.p_fraud,
                is_fraud,
                batch.kind,
                outcomes.reported_at,
                outcomes.false_chargeback,
                end_second,
                defect,
            )
        )
        record.p_fraud.append(batch.p_fraud)
        record.is_fraud.append(is_fraud)
        record.kind.append(batch.kind)
        record.reported_at.append(outcomes.reported_at)
        record.false_chargeback.append(outcomes.false_chargeback)

    summary = _summarize(config, record, writer, customers, len(index.merchants), truth_dir)
    summary_dict = summary.to_dict()
    write_truth(truth_dir, record.truth, record.chargeback_defects, summary_dict)
    return summary


def _summarize(
    config: SimulationConfig,
    record: _Record,
    writer: LandingWriter,
    customers: Customers,
    merchants: int,
    truth_dir: Path,
) -> SimulationSummary:
    p_fraud = np.concatenate(record.p_fraud)
    is_fraud = np.concatenate(record.is_fraud)
    kind = np.concatenate(record.kind)
    reported_at = np.concatenate(record.reported_at)
    false_chargeback = np.concatenate(record.false_chargeback)
    end_second = (epoch_day(config.end) + 1) * SECONDS_PER_DAY
    reported = reported_at >= 0
    in_range = reported & (reported_at < end_second)
    fraud = int(is_fraud.sum())
    total = len(is_fraud)
    both_classes = 0 < fraud < total
    return SimulationSummary(
        transactions=record.transactions,
        chargebacks=record.chargebacks,
        customers=record.customer_rows,
        fraud_transactions=fraud,
        fraud_rate=fraud / total if total else 0.0,
        oracle_roc_auc=roc_auc(p_fraud, is_fraud) if both_classes else None,
        files=list(writer.files),
        scenario=config.scenario,
        onset_date=config.onset_date,
        start=config.start,
        end=config.end,
        days=config.days,
        seed=config.seed,
        file_format=config.file_format,
        distinct_customers=len(customers),
        new_signups=int(np.count_nonzero(customers.signup_day >= 0)),
        customer_updates=record.customer_updates,
        merchants=merchants,
        fraud_episodes=record.episodes,
        episode_transactions=int(np.count_nonzero(kind > 0)),
        fraud_reported_share=float(reported[is_fraud].mean()) if fraud else 0.0,
        fraud_reported_in_range_share=float(in_range[is_fraud].mean()) if fraud else 0.0,
        chargebacks_after_end=int(np.count_nonzero(reported & ~in_range)),
        false_chargebacks=int(np.count_nonzero(false_chargeback & in_range)),
        defective_transactions=record.defective_transactions,
        defective_chargebacks=record.defective_chargebacks,
        truth_dir=truth_dir,
    )
