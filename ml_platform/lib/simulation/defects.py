"""Malformed landing rows, written on purpose so the ingestion quarantine has real content.

With ``SimulationConfig.defect_rate`` > 0 every row of a day's transactions or chargebacks
file is corrupted with that probability, in exactly one way drawn at random from the kinds
its file format can carry. A CSV cell can hold any text; a Parquet column keeps its type,
so Parquet files only get type-preserving defects. A corrupted row keeps its
``transaction_id``, and the ground truth records which rows were corrupted and how.

The draws come from their own per-day streams (``defects``, ``chargeback_defects``) and
are skipped entirely at rate 0, so a run without defects writes the very same bytes as
before this module existed, and a run with defects differs only in the corrupted rows.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from ml_platform.lib.simulation.writer import CSV_OPTIONS, TIMESTAMP

# Lower-case ISO-3166 alpha-3 codes: what a feed that ignores the alpha-2 contract sends.
ALPHA3 = {
    "US": "usa", "GB": "gbr", "DE": "deu", "FR": "fra", "CA": "can", "ES": "esp",
    "IT": "ita", "NL": "nld", "SE": "swe", "IE": "irl", "MX": "mex", "BR": "bra",
    "TH": "tha", "TR": "tur", "AE": "are",
}  # fmt: skip
UNKNOWN_CHANNEL = "web"

Edit = tuple[str, pl.Expr]


def _csv_timestamp_edits(column: str) -> dict[str, Edit]:
    return {
        # 2026-01-05T14:23:11Z -> 2026-01-05T14:23:11
        "naive_timestamp": (column, pl.col(column).str.strip_suffix("Z")),
        # 2026-01-05T14:23:11Z -> 2026-13-45T25:23:11Z
        "unparseable_timestamp": (
            column,
            pl.col(column).str.replace(r"^(\d{4})-\d{2}-\d{2}T\d{2}", "${1}-13-45T25"),
        ),
    }


_COUNTRY_EDIT: Edit = ("country", pl.col("country").replace(ALPHA3))
_CHANNEL_EDIT: Edit = ("channel", pl.lit(UNKNOWN_CHANNEL))

# (source, file format) -> defect kind -> (column, new value of the column's cells).
# CSV frames are edited as text, exactly as written; Parquet frames keep their dtypes.
EDITS: dict[tuple[str, str], dict[str, Edit]] = {
    ("transactions", "csv"): {
        "negative_amount": ("amount", "-" + pl.col("amount")),
        "zero_amount": ("amount", pl.lit("0.00")),
        # 12.50 -> 12.5O (letter O for the last digit)
        "non_numeric_amount": ("amount", pl.col("amount").str.replace(r"\d$", "O")),
        "unknown_channel": _CHANNEL_EDIT,
        **_csv_timestamp_edits("event_timestamp"),
        "missing_customer_id": ("customer_id", pl.lit(None, pl.String)),
        "bad_country": _COUNTRY_EDIT,
    },
    ("transactions", "parquet"): {
        "negative_amount": ("amount", -pl.col("amount")),
        "zero_amount": ("amount", pl.lit(0.0)),
        "unknown_channel": _CHANNEL_EDIT,
        "missing_customer_id": ("customer_id", pl.lit(None, pl.Int64)),
        "bad_country": _COUNTRY_EDIT,
    },
    ("chargebacks", "csv"): _csv_timestamp_edits("reported_at"),
    ("chargebacks", "parquet"): {
        "missing_reported_at": ("reported_at", pl.lit(None, TIMESTAMP)),
    },
}


def defect_kinds(source: str, file_format: str) -> tuple[str, ...]:
    """Return the defect kinds a file of ``source`` in ``file_format`` can get."""
    return tuple(EDITS[source, file_format])


def draw_defects(rng: np.random.Generator, rows: int, rate: float, kinds: int) -> np.ndarray:
    """Pick the rows to corrupt and how.

    Args:
        rng: The day's defect stream of the source.
        rows: Rows in the file.
        rate: Probability that a row is corrupted.
        kinds: Number of defect kinds to choose from (uniformly).

    Returns:
        One code per row: -1 for a clean row, else the index of its defect kind.
    """
    codes = np.full(rows, -1, dtype=np.int64)
    hit = np.flatnonzero(rng.random(rows) < rate)
    codes[hit] = rng.integers(kinds, size=len(hit))
    return codes


def as_csv_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` as text columns holding exactly the cells ``write_csv`` writes."""
    text = frame.write_csv(**CSV_OPTIONS)
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def inject_defects(
    rng: np.random.Generator, frame: pl.DataFrame, source: str, file_format: str, rate: float
) -> tuple[pl.DataFrame, pl.Series]:
    """Corrupt a share ``rate`` of the rows of one landing file.

    Args:
        rng: The day's defect stream of the source; not used at all when ``rate`` is 0.
        frame: The clean landing frame of the file.
        source: ``transactions`` or ``chargebacks``.
        file_format: ``csv`` or ``parquet``.
        rate: Probability that a row is corrupted.

    Returns:
        The frame to write (CSV frames with corrupted rows come back as text columns; they
        write to the same bytes except in those rows) and a ``defect`` column aligned with
        its rows: the defect kind, or null for a clean row.
    """
    clean = pl.Series("defect", [None] * frame.height, dtype=pl.String)
    if rate == 0 or frame.height == 0:
        return frame, clean
    edits = EDITS[source, file_format]
    kinds = tuple(edits)
    codes = draw_defects(rng, frame.height, rate, len(kinds))
    if not (codes >= 0).any():
        return frame, clean
    changes: dict[str, pl.Expr] = {}
    for code, kind in enumerate(kinds):
        rows = codes == code
        if rows.any():
            column, value = edits[kind]
            changes[column] = (
                pl.when(pl.lit(pl.Series(rows)))
                .then(value)
                .otherwise(changes.get(column, pl.col(column)))
            )
    target = as_csv_text(frame) if file_format == "csv" else frame
    schema = target.schema
    corrupted = target.with_columns(**changes).match_to_schema(schema)
    names = pl.Series("defect", np.array(kinds)[np.maximum(codes, 0)], dtype=pl.String)
    return corrupted, names.set(pl.Series(codes < 0), None)
