"""Odd landing file names are read literally, and nothing outside the landing folder is read."""

import os
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.ingestion import tables
from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.landing import discover
from ml_platform.lib.ingestion.sources import TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing

pytestmark = pytest.mark.reliability

BRONZE = tables.bronze_table(TRANSACTIONS)

# Each name lands one file whose single row has a transaction id derived from the name.
ODD_NAMES = [
    "with space.csv",
    "unicodé ü 日本.csv",
    "a..b.csv",
    "x..csv",
    "up..stream/x.csv",  # `..` inside a folder name
    "data[1].csv",
    "*.csv",
    "?.csv",
    "{a,b}.csv",
    "x' OR '1'='1.csv",
    "semi;colon $(touch pwned).csv",
]


def _bronze_by_file(lake: DeltaLake) -> dict[str, list[str]]:
    frame = lake.read(BRONZE).sort("transaction_id")
    grouped = frame.group_by("source_file").agg(pl.col("transaction_id").sort())
    return {row[0]: row[1] for row in grouped.iter_rows()}


def test_odd_and_glob_like_names_are_read_as_literal_names(landing: Path, lake: DeltaLake) -> None:
    # Siblings a glob would also match: `data[1].csv` as a glob means `data1.csv`, `*` anything.
    write_landing(landing, "transactions/data1.csv", f"{TX_HEADER}\n{tx_row('sibling-1')}\n")
    write_landing(landing, "transactions/a.csv", f"{TX_HEADER}\n{tx_row('sibling-a')}\n")
    for index, name in enumerate(ODD_NAMES):
        write_landing(landing, f"transactions/{name}", f"{TX_HEADER}\n{tx_row(f'odd-{index}')}\n")

    report = ingest_source(lake, landing, TRANSACTIONS, batch_id="b1")

    expected = {f"transactions/{name}": [f"odd-{i}"] for i, name in enumerate(ODD_NAMES)}
    expected["transactions/data1.csv"] = ["sibling-1"]
    expected["transactions/a.csv"] = ["sibling-a"]
    assert _bronze_by_file(lake) == expected
    assert report.rows_accepted == len(expected)
    assert not report.rejected
    assert not (Path.cwd() / "pwned").exists()
    # Re-running finds every file unchanged: the odd names round-trip through the ledger.
    again = ingest_source(lake, landing, TRANSACTIONS, batch_id="b2")
    assert (again.files_unchanged, again.outcomes) == (len(expected), [])


def test_symlinks_out_of_the_landing_folder_are_never_read(
    landing: Path, lake: DeltaLake, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(f"{TX_HEADER}\n{tx_row('secret')}\n")
    (outside / "nested").mkdir()
    (outside / "nested" / "deep.csv").write_text(f"{TX_HEADER}\n{tx_row('deep-secret')}\n")
    folder = landing / "transactions"
    write_landing(landing, "transactions/ok.csv", f"{TX_HEADER}\n{tx_row('ok')}\n")
    os.symlink(outside / "secret.csv", folder / "link.csv")  # file link out
    os.symlink(outside / "nested", folder / "dirlink")  # directory link out
    os.symlink("../../../outside/secret.csv", folder / "relative.csv")  # relative `..` link out
    os.symlink(outside, landing / "customers")  # a whole source folder pointing out
    (outside / "c.csv").write_text("customer_id,signup_date,home_country,credit_limit\n")

    report = ingest_source(lake, landing, TRANSACTIONS, batch_id="b1")

    assert report.files_seen == 1
    assert _bronze_by_file(lake) == {"transactions/ok.csv": ["ok"]}
    ledger = lake.read(tables.LEDGER_TABLE)
    assert ledger.get_column("source_file").to_list() == ["transactions/ok.csv"]
    quarantine = lake.read(tables.QUARANTINE_TABLE)
    assert quarantine.is_empty()
    assert discover(landing, "customers") == []  # the linked source folder is outside too


def test_a_symlink_inside_the_landing_folder_is_read_once_under_its_own_name(
    landing: Path, lake: DeltaLake
) -> None:
    real = write_landing(landing, "transactions/real.csv", f"{TX_HEADER}\n{tx_row('r')}\n")
    os.symlink(real, landing / "transactions" / "alias.csv")

    ingest_source(lake, landing, TRANSACTIONS, batch_id="b1")

    # Both names are landing files inside the folder; their rows are deduplicated in silver.
    assert _bronze_by_file(lake) == {
        "transactions/alias.csv": ["r"],
        "transactions/real.csv": ["r"],
    }
