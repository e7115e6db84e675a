"""What a simulation run produced."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SimulationSummary:
    """Counts and quality figures of a simulation run.

    Attributes:
        transactions: Transaction rows written.
        chargebacks: Chargeback rows written (reported within the range).
        customers: Customer rows written (initial base, signups and updates).
        fraud_transactions: Transactions whose true label is fraud.
        fraud_rate: fraud_transactions / transactions.
        oracle_roc_auc: ROC-AUC of the true fraud probability against the true label: the
            ceiling any model can reach on this data (None without both classes).
        files: Landing files written, in writing order.
        scenario: Drift scenario.
        onset_date: First day of the scenario, None for ``none``.
        start: First simulated day.
        end: Last simulated day.
        days: Number of simulated days.
        seed: Seed of the run.
        file_format: ``csv`` or ``parquet``.
        distinct_customers: Customers known at the end (initial base plus signups).
        new_signups: Customers who signed up during the range.
        customer_updates: Changes of existing customers written (limit raises, moves).
        merchants: Number of merchants.
        fraud_episodes: Card compromises started during the range.
        episode_transactions: Transactions made by fraudsters during episodes.
        fraud_reported_share: Share of fraud that is ever reported as a chargeback.
        fraud_reported_in_range_share: Share of fraud whose chargeback was written.
        chargebacks_after_end: Chargebacks that would be reported after the last day.
        false_chargebacks: Chargebacks written for legitimate transactions.
        defective_transactions: Transaction rows written malformed on purpose
            (``SimulationConfig.defect_rate``); marked in the truth's ``defect`` column.
        defective_chargebacks: Chargeback rows written malformed on purpose; marked in the
            truth's ``chargeback_defect`` column.
        truth_dir: Folder of the ground truth.
    """

    transactions: int
    chargebacks: int
    customers: int
    fraud_transactions: int
    fraud_rate: float
    oracle_roc_auc: float | None
    files: list[Path]
    scenario: str
    onset_date: datetime.date | None
    start: datetime.date
    end: datetime.date
    days: int
    seed: int
    file_format: str
    distinct_customers: int
    new_signups: int
    customer_updates: int
    merchants: int
    fraud_episodes: int
    episode_transactions: int
    fraud_reported_share: float
    fraud_reported_in_range_share: float
    chargebacks_after_end: int
    false_chargebacks: int
    defective_transactions: int
    defective_chargebacks: int
    truth_dir: Path

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (dates as ISO strings, paths as strings)."""
        result: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list):
                value = [str(item) for item in value]
            result[field.name] = value
        return result
