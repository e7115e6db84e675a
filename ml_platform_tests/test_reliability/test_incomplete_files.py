"""Files still being written, or cut short, are never silently loaded.

Polars reads a short row (missing trailing field) as nulls and a file cut mid-value
(``5000.00`` → ``50``) without any error (FINDINGS.md): the platform must notice.
"""

import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.defs.ingestion.assets import bronze_assets
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.ingestion import engine, tables
from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.sources import CUSTOMERS, TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing

pytestmark = pytest.mark.reliability

CUSTOMERS_HEADER = "customer_id,signup_date,home_country,credit_limit"
[BRONZE_TRANSACTIONS] = [
    asset for asset in bronze_assets if asset.key == dg.AssetKey(["bronze", "transactions"])
]


def _ids(lake: DeltaLake, table: str, column: str = "transaction_id") -> list:
    return sorted(lake.read(table).get_column(column).to_list()) if lake.exists(table) else []


def _ledger_files(lake: DeltaLake) -> list[str]:
    return sorted(lake.read(tables.LEDGER_TABLE).get_column("source_file").to_list())


def test_a_file_still_being_written_is_not_ingested_by_the_bronze_asset(
    landing: Path, lake: DeltaLake, platform: PlatformResource, instance: dg.DagsterInstance
) -> None:
    """The sensor waits for settled files, but a run also discovers files itself."""
    write_landing(landing, "transactions/done.csv", f"{TX_HEADER}\n{tx_row('done')}\n")
    growing = write_landing(
        landing, "transactions/growing.csv", f"{TX_HEADER}\n{tx_row('g1')}\n", age_seconds=0
    )
    with growing.open("a") as handle:  # the writer is still appending...
        handle.write(f"{tx_row('g2')}\n")

    def run() -> None:
        result = dg.materialize(
            [BRONZE_TRANSACTIONS],
            resources={"platform": platform},
            partition_key="2026-01-02",
            instance=instance,
        )
        assert result.success

    run()
    assert _ids(lake, "bronze/transactions") == ["done"]
    assert _ledger_files(lake) == ["transactions/done.csv"]  # so a later run picks it up

    with growing.open("a") as handle:
        handle.write(f"{tx_row('g3')}\n")
    stamp = growing.stat().st_mtime - 3600  # ...finished, and settled since
    os.utime(growing, (stamp, stamp))
    run()
    assert _ids(lake, "bronze/transactions") == ["done", "g1", "g2", "g3"]
    assert _ledger_files(lake) == ["transactions/done.csv", "transactions/growing.csv"]


def test_a_file_that_grows_while_it_is_read_is_left_for_the_next_run(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settled by its mtime, yet a writer appends while it is parsed (e.g. a paused upload)."""
    path = write_landing(landing, "transactions/slow.csv", f"{TX_HEADER}\n{tx_row('s1')}\n")
    parse = engine.parse_chunks

    def parse_while_the_writer_appends(file, source, chunk_rows):
        yield from parse(file, source, chunk_rows)
        with path.open("a") as handle:
            handle.write(f"{tx_row('s2')}\n")

    monkeypatch.setattr(engine, "parse_chunks", parse_while_the_writer_appends)
    report = ingest_source(lake, landing, TRANSACTIONS, batch_id="b1", settle_seconds=5)
    assert report.files_pending == ["transactions/slow.csv"]
    assert report.outcomes == []
    assert _ids(lake, "bronze/transactions") == []
    assert not lake.exists(tables.LEDGER_TABLE) or _ledger_files(lake) == []

    monkeypatch.undo()
    stamp = path.stat().st_mtime - 3600
    os.utime(path, (stamp, stamp))
    report = ingest_source(lake, landing, TRANSACTIONS, batch_id="b2", settle_seconds=5)
    assert report.files_pending == []
    assert _ids(lake, "bronze/transactions") == ["s1", "s2"]


def test_a_csv_cut_mid_value_is_never_silently_loaded(landing: Path, lake: DeltaLake) -> None:
    # The last value was cut: 5000.00 -> 50 still parses as a valid credit limit.
    write_landing(
        landing,
        "customers/cut.csv",
        f"{CUSTOMERS_HEADER}\n1,2020-01-01,US,1000.00\n2,2020-01-02,FR,50",
    )
    report = ingest_source(lake, landing, CUSTOMERS, batch_id="b1")

    assert _ids(lake, "bronze/customers", "customer_id") == [1]
    [row] = lake.read(tables.QUARANTINE_TABLE).iter_rows(named=True)
    assert (row["source_file"], row["source_row"]) == ("customers/cut.csv", 2)
    assert "row 2 is not terminated by a line break" in row["reason"]
    assert "cut short" in row["reason"]
    [outcome] = report.outcomes
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined) == (2, 1, 1)

    # The writer finishes the file: it changes, is re-read, and the row lands complete.
    write_landing(
        landing,
        "customers/cut.csv",
        f"{CUSTOMERS_HEADER}\n1,2020-01-01,US,1000.00\n2,2020-01-02,FR,5000.00\n",
    )
    ingest_source(lake, landing, CUSTOMERS, batch_id="b2")
    limits = lake.read("bronze/customers").sort("customer_id")["credit_limit"].to_list()
    assert limits == [1000.0, 5000.0]
    assert lake.read(tables.QUARANTINE_TABLE).is_empty()


@pytest.mark.parametrize(
    ("last_line", "reason"),
    [
        ("t2,1,7,12", "event_timestamp: missing value"),  # cut mid-row: a short row
        ("t2,1,7,12.50,grocery,pos,US,2026-01-02T10:0", "event_timestamp"),  # cut mid-timestamp
        ("t2,1,7,12.50,grocery,pos,US,2026-01-02T10:00:00Z", "not terminated by a line break"),
    ],
    ids=["short-row", "cut-timestamp", "complete-looking-last-row"],
)
def test_a_transactions_file_cut_short_quarantines_its_last_row(
    landing: Path, lake: DeltaLake, last_line: str, reason: str
) -> None:
    write_landing(landing, "transactions/cut.csv", f"{TX_HEADER}\n{tx_row('t1')}\n{last_line}")
    ingest_source(lake, landing, TRANSACTIONS, batch_id="b1")
    assert _ids(lake, "bronze/transactions") == ["t1"]
    [row] = lake.read(tables.QUARANTINE_TABLE).iter_rows(named=True)
    assert (row["source_file"], row["source_row"]) == ("transactions/cut.csv", 2)
    assert reason in row["reason"]


def test_a_parquet_file_cut_short_is_rejected_with_its_name(landing: Path, lake: DeltaLake) -> None:
    path = landing / "transactions" / "cut.parquet"
    path.parent.mkdir(parents=True)
    frame = pl.read_csv(f"{TX_HEADER}\n{tx_row('p1')}\n{tx_row('p2')}\n".encode())
    frame.write_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    stamp = path.stat().st_mtime - 3600
    os.utime(path, (stamp, stamp))

    report = ingest_source(lake, landing, TRANSACTIONS, batch_id="b1")

    [outcome] = report.rejected
    assert outcome.error is not None
    assert outcome.error.startswith("transactions/cut.parquet: unreadable parquet")
    assert _ids(lake, "bronze/transactions") == []
    [row] = lake.read(tables.QUARANTINE_TABLE).iter_rows(named=True)
    assert row["source_file"] == "transactions/cut.parquet"
