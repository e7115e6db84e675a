"""Landing files (what the pipeline ingests) and ground truth (what it never sees)."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ml_platform.lib.ingestion.sources import CHARGEBACKS, TRANSACTIONS
from ml_platform.lib.simulation import catalog
from ml_platform.lib.simulation.transactions import KIND_NAMES

TIMESTAMP = pl.Datetime("us", "UTC")
# The landing contract is the ingestion's source declaration: the simulator writes exactly it.
TRANSACTION_SCHEMA = TRANSACTIONS.schema
CHARGEBACK_SCHEMA = CHARGEBACKS.schema
CUSTOMER_SCHEMA = pl.Schema(
    {
        "customer_id": pl.Int64,
        "signup_date": pl.Date,
        "home_country": pl.String,
        "credit_limit": pl.Float64,
    }
)
SOURCES: tuple[str, ...] = ("transactions", "chargebacks", "customers")
CSV_OPTIONS: dict[str, Any] = {
    "float_precision": 2,
    "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
    "date_format": "%Y-%m-%d",
}
TRUTH_FILE = "transactions_truth.parquet"
SUMMARY_FILE = "summary.json"
_EPOCH = datetime.date(1970, 1, 1)

_CATEGORY_NAMES = np.array(catalog.CATEGORIES)
_CHANNEL_NAMES = np.array(catalog.CHANNELS)
_COUNTRY_NAMES = np.array(catalog.COUNTRIES)
_KIND_NAMES = np.array(KIND_NAMES)


def epoch_day(date: datetime.date) -> int:
    """Days from 1970-01-01 to ``date``."""
    return (date - _EPOCH).days


def transaction_ids(numbers: np.ndarray) -> pl.Series:
    """Format transaction numbers as ids like ``tx-0000000123``."""
    digits = pl.Series("transaction_id", numbers, dtype=pl.Int64).cast(pl.String)
    return ("tx-" + digits.str.zfill(10)).alias("transaction_id")


def timestamps(name: str, epoch_seconds: np.ndarray) -> pl.Series:
    """Turn epoch seconds into a UTC microsecond timestamp column."""
    micros = np.asarray(epoch_seconds, dtype=np.int64) * 1_000_000
    return pl.Series(name, micros, dtype=pl.Int64).cast(TIMESTAMP)


def transactions_frame(
    numbers: np.ndarray,
    customer_id: np.ndarray,
    merchant_id: np.ndarray,
    amount: np.ndarray,
    category: np.ndarray,
    channel: np.ndarray,
    country: np.ndarray,
    event_seconds: np.ndarray,
) -> pl.DataFrame:
    """Build the transactions landing frame from integer codes (already sorted)."""
    frame = pl.DataFrame(
        [
            transaction_ids(numbers),
            pl.Series("customer_id", customer_id, dtype=pl.Int64),
            pl.Series("merchant_id", merchant_id, dtype=pl.Int64),
            pl.Series("amount", amount, dtype=pl.Float64),
            pl.Series("merchant_category", _CATEGORY_NAMES[category], dtype=pl.String),
            pl.Series("channel", _CHANNEL_NAMES[channel], dtype=pl.String),
            pl.Series("country", _COUNTRY_NAMES[country], dtype=pl.String),
            timestamps("event_timestamp", event_seconds),
        ]
    )
    return frame.match_to_schema(TRANSACTION_SCHEMA)


def chargebacks_frame(numbers: np.ndarray, reported_seconds: np.ndarray) -> pl.DataFrame:
    """Build the chargebacks landing frame, sorted by report time then transaction id."""
    order = np.lexsort((numbers, reported_seconds))
    frame = pl.DataFrame(
        [transaction_ids(numbers[order]), timestamps("reported_at", reported_seconds[order])]
    )
    return frame.match_to_schema(CHARGEBACK_SCHEMA)


def customers_frame(
    customer_id: np.ndarray,
    signup_epoch_day: np.ndarray,
    home: np.ndarray,
    credit_limit: np.ndarray,
) -> pl.DataFrame:
    """Build the customers landing frame (rows in the given order)."""
    frame = pl.DataFrame(
        [
            pl.Series("customer_id", customer_id, dtype=pl.Int64),
            pl.Series("signup_date", signup_epoch_day, dtype=pl.Int32).cast(pl.Date),
            pl.Series("home_country", _COUNTRY_NAMES[home], dtype=pl.String),
            pl.Series("credit_limit", np.round(credit_limit, 2), dtype=pl.Float64),
        ]
    )
    return frame.match_to_schema(CUSTOMER_SCHEMA)


def truth_frame(
    numbers: np.ndarray,
    event_seconds: np.ndarray,
    p_fraud: np.ndarray,
    is_fraud: np.ndarray,
    kind: np.ndarray,
    reported_at: np.ndarray,
    false_chargeback: np.ndarray,
    end_epoch_second: int,
    defect: pl.Series,
) -> pl.DataFrame:
    """Build the ground-truth rows of one day's transactions.

    ``chargeback_reported_at`` is when the chargeback is (or would be) reported, also past
    the simulated range; ``chargeback_in_range`` tells whether it was written. ``defect``
    is how the landing row was corrupted on purpose, null for a clean row.
    """
    reported = reported_at >= 0
    return pl.DataFrame(
        [
            transaction_ids(numbers),
            timestamps("event_timestamp", event_seconds),
            pl.Series("p_fraud", p_fraud, dtype=pl.Float64),
            pl.Series("is_fraud", is_fraud, dtype=pl.Boolean),
            pl.Series("in_episode", kind > 0, dtype=pl.Boolean),
            pl.Series("fraud_kind", _KIND_NAMES[kind], dtype=pl.String),
            timestamps("chargeback_reported_at", reported_at).set(pl.Series(~reported), None),
            pl.Series("chargeback_in_range", reported & (reported_at < end_epoch_second)),
            pl.Series("false_chargeback", false_chargeback, dtype=pl.Boolean),
            defect.alias("defect"),
        ]
    )


class LandingWriter:
    """Writes one file per source per day under ``out_dir/<source>/``."""

    def __init__(self, out_dir: Path, file_format: str) -> None:
        """Create the source folders under ``out_dir``."""
        self.out_dir = out_dir
        self.file_format = file_format
        self.files: list[Path] = []
        for source in SOURCES:
            (out_dir / source).mkdir(parents=True, exist_ok=True)

    def path(self, source: str, date: datetime.date) -> Path:
        """Return the landing path of ``source`` for ``date``."""
        return self.out_dir / source / f"{source}_{date.isoformat()}.{self.file_format}"

    def write(self, source: str, date: datetime.date, frame: pl.DataFrame) -> Path:
        """Write one day's frame of a source and return its path."""
        path = self.path(source, date)
        buffer = io.BytesIO()
        if self.file_format == "csv":
            frame.write_csv(buffer, **CSV_OPTIONS)
        else:
            frame.write_parquet(buffer, compression="zstd", statistics=True)
        # Write next to the target under a hidden name, then rename: a watcher never sees
        # a half-written landing file.
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
        self.files.append(path)
        return path


def write_truth(
    truth_dir: Path,
    frames: list[pl.DataFrame],
    chargeback_defects: list[pl.DataFrame],
    summary: dict[str, Any],
) -> None:
    """Write the ground-truth table and the run summary under ``truth_dir``.

    Args:
        truth_dir: Folder to write to.
        frames: Ground-truth rows per day (see ``truth_frame``).
        chargeback_defects: ``transaction_id`` and ``chargeback_defect`` of the chargeback
            rows corrupted on purpose; joined onto the truth (null for every other row).
        summary: The run summary as a JSON-ready dict.
    """
    truth_dir.mkdir(parents=True, exist_ok=True)
    empty = pl.DataFrame(schema={"transaction_id": pl.String, "chargeback_defect": pl.String})
    marked = pl.concat([empty, *chargeback_defects], how="vertical")
    truth = pl.concat(frames, how="vertical").join(
        marked, on="transaction_id", how="left", validate="1:1", maintain_order="left"
    )
    truth.write_parquet(truth_dir / TRUTH_FILE, compression="zstd")
    text = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    (truth_dir / SUMMARY_FILE).write_text(text, encoding="utf-8")
