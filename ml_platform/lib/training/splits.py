"""The training set's time split: shares checked, rows assigned by event time, counted."""

from collections.abc import Sequence

import polars as pl

from ml_platform.lib.features.catalog import TIMESTAMP

LABEL = "label"
SPLIT = "split"
SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SPLITS = (0.70, 0.15, 0.15)


def check_splits(splits: Sequence[float]) -> tuple[float, float, float]:
    """The three shares (train, validation, test), checked: positive, summing to 1."""
    if len(splits) != len(SPLIT_NAMES) or any(s <= 0 for s in splits):
        raise ValueError(f"splits must be three positive shares, got {tuple(splits)}")
    if abs(sum(splits) - 1.0) > 1e-9:
        raise ValueError(f"splits must sum to 1, got {tuple(splits)} (sum {sum(splits)})")
    train, validation, test = (float(s) for s in splits)
    return train, validation, test


def split_by_time(
    frame: pl.DataFrame, shares: tuple[float, float, float]
) -> tuple[pl.DataFrame, dict[str, dict[str, str]]]:
    """Assign each row its split by event time; equal timestamps never straddle a boundary.

    ``frame`` is sorted by time. The validation split starts at the timestamp of the row at
    the train share's position, the test split likewise: a row goes to the earlier split only
    when it is strictly older than the boundary, so the splits never overlap in time.
    """
    n = frame.height
    timestamps = frame.get_column(TIMESTAMP)
    if n < len(SPLIT_NAMES):
        raise ValueError(f"only {n} matured transactions: too few to split")
    first_validation = timestamps[int(n * shares[0])]
    first_test = timestamps[int(n * (shares[0] + shares[1]))]
    split = (
        pl.when(pl.col(TIMESTAMP) < first_validation)
        .then(pl.lit(SPLIT_NAMES[0]))
        .when(pl.col(TIMESTAMP) < first_test)
        .then(pl.lit(SPLIT_NAMES[1]))
        .otherwise(pl.lit(SPLIT_NAMES[2]))
        .alias(SPLIT)
    )
    frame = frame.with_columns(split)
    bounds = (
        frame.group_by(SPLIT)
        .agg(pl.col(TIMESTAMP).min().alias("first"), pl.col(TIMESTAMP).max().alias("last"))
        .to_dicts()
    )
    found = {row[SPLIT]: row for row in bounds}
    empty = [name for name in SPLIT_NAMES if name not in found]
    if empty:
        raise ValueError(
            f"the {n} matured transactions leave the {empty} split(s) empty: "
            "need more distinct event times"
        )
    return frame, {
        name: {"first": found[name]["first"].isoformat(), "last": found[name]["last"].isoformat()}
        for name in SPLIT_NAMES
    }


def split_counts(frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Rows and fraud rows of each split (every split named, empty ones with zeros)."""
    rows = frame.group_by(SPLIT).agg(pl.len().alias("rows"), pl.col(LABEL).sum().alias("fraud"))
    found = {r[SPLIT]: {"rows": int(r["rows"]), "fraud": int(r["fraud"])} for r in rows.to_dicts()}
    return {name: found.get(name, {"rows": 0, "fraud": 0}) for name in SPLIT_NAMES}
