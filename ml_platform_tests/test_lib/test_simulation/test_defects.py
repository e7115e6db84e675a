"""Malformed landing rows written on purpose (``defect_rate``) for the ingestion quarantine."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.simulation import SimulationConfig, SimulationSummary
from ml_platform.lib.simulation.defects import EDITS, defect_kinds
from ml_platform_tests.test_lib.test_simulation import TS_FORMAT, read_truth, run

Run = tuple[SimulationSummary, Path, Path]
FORMATS = ["csv", "parquet"]
# About 20,000 transactions: enough to check the share of a 1 % rate.
BASE = SimulationConfig(customers=1_000, merchants=200, days=20, seed=13)
# Enough chargebacks (about 400) that a 5 % rate hits every chargeback defect kind.
WIDE = SimulationConfig(customers=1_500, merchants=300, days=45, seed=13)
DEFECT_COLUMN = {"transactions": "defect", "chargebacks": "chargeback_defect"}
CHANNELS = ["online", "pos", "atm"]


def _naive(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)


def _utc(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Datetime("us"), TS_FORMAT, strict=False)


def _number(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64, strict=False)


def _timestamp_rules(column: str) -> dict[str, pl.Expr]:
    return {
        "naive_timestamp": _naive(column).is_not_null() & _utc(column).is_null(),
        "unparseable_timestamp": _naive(column).is_null() & _utc(column).is_null(),
    }


# Per defect kind: the rule of the landing contract its rows break, as "is broken" checks
# on the raw text (CSV) or typed values (Parquet). Clean rows break none of them.
BROKEN: dict[tuple[str, str], dict[str, pl.Expr]] = {
    ("transactions", "csv"): {
        "negative_amount": _number("amount") < 0,
        "zero_amount": _number("amount") == 0,
        "non_numeric_amount": pl.col("amount").is_not_null() & _number("amount").is_null(),
        "unknown_channel": ~pl.col("channel").is_in(CHANNELS),
        **_timestamp_rules("event_timestamp"),
        "missing_customer_id": pl.col("customer_id").is_null(),
        "bad_country": ~pl.col("country").str.contains(r"^[A-Z]{2}$"),
    },
    ("transactions", "parquet"): {
        "negative_amount": pl.col("amount") < 0,
        "zero_amount": pl.col("amount") == 0,
        "unknown_channel": ~pl.col("channel").is_in(CHANNELS),
        "missing_customer_id": pl.col("customer_id").is_null(),
        "bad_country": ~pl.col("country").str.contains(r"^[A-Z]{2}$"),
    },
    ("chargebacks", "csv"): _timestamp_rules("reported_at"),
    ("chargebacks", "parquet"): {"missing_reported_at": pl.col("reported_at").is_null()},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """Simulate a config with a file format and defect rate, once per module."""
    cache: dict[SimulationConfig, Run] = {}

    def get(config: SimulationConfig, file_format: str, defect_rate: float) -> Run:
        config = dataclasses.replace(config, file_format=file_format, defect_rate=defect_rate)
        if config not in cache:
            cache[config] = run(tmp_path_factory.mktemp("defects"), config)
        return cache[config]

    return get


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _raw(out_dir: Path, source: str) -> pl.DataFrame:
    """Every file of a source as written: CSV cells as text, Parquet columns typed."""
    paths = sorted((out_dir / source).iterdir())
    if paths[0].suffix == ".csv":
        return pl.concat([pl.read_csv(p, infer_schema=False) for p in paths])
    return pl.concat([pl.read_parquet(p) for p in paths])


def _marked(truth_dir: Path, source: str) -> dict[str, str]:
    column = DEFECT_COLUMN[source]
    truth = read_truth(truth_dir).filter(pl.col(column).is_not_null())
    return dict(zip(truth["transaction_id"], truth[column], strict=True))


def _changed_columns(clean: Path, dirty: Path, source: str) -> dict[str, list[str]]:
    """Rows that differ between two runs' landing files: transaction_id -> changed columns."""
    changed: dict[str, list[str]] = {}
    for path in sorted((clean / source).iterdir()):
        other = dirty / source / path.name
        if path.suffix == ".csv":
            header, *rows = path.read_text(encoding="utf-8").splitlines()
            header_b, *rows_b = other.read_text(encoding="utf-8").splitlines()
            assert header_b == header
            assert [r.split(",", 1)[0] for r in rows] == [r.split(",", 1)[0] for r in rows_b]
            names = header.split(",")
            for row, row_b in zip(rows, rows_b, strict=True):
                if row != row_b:
                    cells = zip(names, row.split(","), row_b.split(","), strict=True)
                    changed[row.split(",", 1)[0]] = [n for n, x, y in cells if x != y]
        else:
            a, b = pl.read_parquet(path), pl.read_parquet(other)
            assert b.schema == a.schema
            assert b["transaction_id"].equals(a["transaction_id"])
            differs = pl.DataFrame([a[c].ne_missing(b[c]) for c in a.columns])
            for i in differs.select(pl.any_horizontal(pl.all()).arg_true()).to_series():
                changed[a["transaction_id"][i]] = [c for c in a.columns if differs[c][i]]
    return changed


@pytest.mark.parametrize("file_format", FORMATS)
def test_zero_rate_writes_the_same_files_as_the_default(tmp_path: Path, file_format: str) -> None:
    default = dataclasses.replace(BASE, days=5, file_format=file_format)
    _, out_default, truth_default = run(tmp_path / "default", default)
    explicit = dataclasses.replace(default, defect_rate=0.0)
    summary, out_zero, truth_zero = run(tmp_path / "zero", explicit)
    assert _files(out_zero) == _files(out_default)
    truth_file = "transactions_truth.parquet"
    assert _files(truth_zero)[truth_file] == _files(truth_default)[truth_file]
    truth = read_truth(truth_zero)
    assert truth["defect"].null_count() == truth["chargeback_defect"].null_count() == truth.height
    assert summary.defective_transactions == summary.defective_chargebacks == 0


@pytest.mark.parametrize("file_format", FORMATS)
def test_defects_change_only_the_marked_rows_in_one_column(
    runs: Callable[..., Run], file_format: str
) -> None:
    for config, rate in ((BASE, 0.01), (WIDE, 0.05)):
        _, clean, _ = runs(config, file_format, 0.0)
        _, dirty, truth_dir = runs(config, file_format, rate)
        for source in ("transactions", "chargebacks"):
            changed = _changed_columns(clean, dirty, source)
            marked = _marked(truth_dir, source)
            assert changed.keys() == marked.keys()
            edits = EDITS[source, file_format]
            assert all(changed[tx] == [edits[kind][0]] for tx, kind in marked.items())


@pytest.mark.parametrize("file_format", FORMATS)
def test_rate_gives_about_that_share_of_defective_rows(
    runs: Callable[..., Run], file_format: str
) -> None:
    for config, rate in ((BASE, 0.01), (WIDE, 0.05)):
        summary, _, truth_dir = runs(config, file_format, rate)
        for source, rows, defective in (
            ("transactions", summary.transactions, summary.defective_transactions),
            ("chargebacks", summary.chargebacks, summary.defective_chargebacks),
        ):
            assert len(_marked(truth_dir, source)) == defective
            expected, sd = rows * rate, math.sqrt(rows * rate * (1 - rate))
            assert abs(defective - expected) <= 4 * sd, (source, defective, expected)
    summary, _, _ = runs(BASE, file_format, 0.01)
    assert 0.008 <= summary.defective_transactions / summary.transactions <= 0.012


@pytest.mark.parametrize("file_format", FORMATS)
def test_every_kind_appears_about_equally_often(runs: Callable[..., Run], file_format: str) -> None:
    _, _, truth_dir = runs(WIDE, file_format, 0.05)
    for source in ("transactions", "chargebacks"):
        counts = pl.Series("kind", list(_marked(truth_dir, source).values())).value_counts()
        kinds = defect_kinds(source, file_format)
        assert set(counts["kind"]) == set(kinds), source
        if source == "transactions":
            share = counts["count"] / counts["count"].sum()
            assert share.min() >= 0.5 / len(kinds)


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("source", ["transactions", "chargebacks"])
def test_each_defect_breaks_the_rule_it_targets(
    runs: Callable[..., Run], file_format: str, source: str
) -> None:
    _, out_dir, truth_dir = runs(WIDE, file_format, 0.05)
    marked = pl.DataFrame(
        list(_marked(truth_dir, source).items()),
        schema={"transaction_id": pl.String, "defect": pl.String},
        orient="row",
    )
    rows = _raw(out_dir, source).join(marked, on="transaction_id", how="left")
    rules = BROKEN[source, file_format]
    assert set(rules) == set(defect_kinds(source, file_format))
    clean = rows.filter(pl.col("defect").is_null())
    assert clean.height > 0
    for kind, broken in rules.items():
        defective = rows.filter(pl.col("defect") == kind)
        assert defective.height > 0, kind
        assert defective.select(broken.fill_null(False).all()).item(), kind
        assert not clean.select(broken.fill_null(False).any()).item(), kind


def test_csv_defects_look_like_real_feed_errors(runs: Callable[..., Run]) -> None:
    _, out_dir, truth_dir = runs(WIDE, "csv", 0.05)
    rows = _raw(out_dir, "transactions")
    marked = _marked(truth_dir, "transactions")
    samples = {
        marked[r["transaction_id"]]: r for r in rows.to_dicts() if r["transaction_id"] in marked
    }
    assert samples["negative_amount"]["amount"].startswith("-")
    assert samples["zero_amount"]["amount"] == "0.00"
    assert samples["non_numeric_amount"]["amount"].endswith("O")
    assert samples["unknown_channel"]["channel"] == "web"
    assert not samples["naive_timestamp"]["event_timestamp"].endswith("Z")
    assert samples["unparseable_timestamp"]["event_timestamp"][4:14] == "-13-45T25:"
    assert samples["bad_country"]["country"] in {"usa", "gbr", "deu", "fra", "can", "esp",
                                                 "ita", "nld", "swe", "irl", "mex", "bra",
                                                 "tha", "tur", "are"}  # fmt: skip


@pytest.mark.parametrize("file_format", FORMATS)
def test_same_config_with_defects_gives_byte_identical_files(
    runs: Callable[..., Run], tmp_path: Path, file_format: str
) -> None:
    first, out_a, truth_a = runs(BASE, file_format, 0.01)
    config = dataclasses.replace(BASE, file_format=file_format, defect_rate=0.01)
    second, out_b, truth_b = run(tmp_path, config)
    assert _files(out_a) == _files(out_b)
    assert (
        _files(truth_a)["transactions_truth.parquet"]
        == _files(truth_b)["transactions_truth.parquet"]
    )
    assert first == dataclasses.replace(second, files=first.files, truth_dir=first.truth_dir)


@pytest.mark.parametrize("file_format", FORMATS)
def test_summary_counts_defects_and_keeps_the_oracle(
    runs: Callable[..., Run], file_format: str
) -> None:
    clean, _, _ = runs(BASE, file_format, 0.0)
    summary, _, truth_dir = runs(BASE, file_format, 0.01)
    written = json.loads((truth_dir / "summary.json").read_text(encoding="utf-8"))
    assert written["defective_transactions"] == summary.defective_transactions > 0
    assert written["defective_chargebacks"] == summary.defective_chargebacks
    assert summary.transactions == clean.transactions
    assert summary.chargebacks == clean.chargebacks
    # The oracle is computed over every transaction, corrupted or not.
    assert summary.oracle_roc_auc == clean.oracle_roc_auc
    assert read_truth(truth_dir).height == summary.transactions
