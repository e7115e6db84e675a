import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.ingestion import engine
from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.reconcile import reconcile
from ml_platform.lib.ingestion.sources import CHARGEBACKS, CUSTOMERS, TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing


def _csv(*rows: str) -> str:
    return "\n".join([TX_HEADER, *rows]) + "\n"


def _bronze(lake: DeltaLake) -> pl.DataFrame:
    return lake.read("bronze/transactions").sort("source_file", "source_row")


def test_good_and_bad_rows_reconcile(landing: Path, lake: DeltaLake) -> None:
    write_landing(landing, "transactions/a.csv", _csv(tx_row("a1"), tx_row("a2", amount="-3")))
    write_landing(landing, "transactions/b.csv", _csv(tx_row("b1", when="2026-01-03T01:00:00Z")))
    report = ingest_source(lake, landing, TRANSACTIONS, "batch-1")

    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (3, 2, 1)
    assert report.dates_touched == {dt.date(2026, 1, 2), dt.date(2026, 1, 3)}
    bronze = _bronze(lake)
    assert bronze["transaction_id"].to_list() == ["a1", "b1"]
    assert bronze.row(0, named=True) | {"ingested_at": None, "landed_at": None} == {
        "transaction_id": "a1",
        "customer_id": 1,
        "merchant_id": 7,
        "amount": 12.5,
        "merchant_category": "grocery",
        "channel": "pos",
        "country": "US",
        "event_timestamp": dt.datetime(2026, 1, 2, 10, tzinfo=dt.UTC),
        "event_date": dt.date(2026, 1, 2),
        "source_file": "transactions/a.csv",
        "source_file_id": bronze["source_file_id"][0],
        "source_row": 1,
        "landed_at": None,
        "ingested_at": None,
        "batch_id": "batch-1",
    }
    quarantine = lake.read("bronze/quarantine")
    assert quarantine.select("source", "source_file", "source_row").row(0) == (
        "transactions",
        "transactions/a.csv",
        2,
    )
    assert '"amount":"-3"' in quarantine["raw_record"][0]
    assert reconcile(lake, TRANSACTIONS).passed


def test_relanding_an_identical_file_adds_nothing(landing: Path, lake: DeltaLake) -> None:
    path = write_landing(landing, "transactions/a.csv", _csv(tx_row("a1"), tx_row("a2")))
    ingest_source(lake, landing, TRANSACTIONS, "batch-1")
    versions = {t: lake.version(t) for t in ("bronze/transactions", "bronze/quarantine")}

    again = ingest_source(lake, landing, TRANSACTIONS, "batch-2")
    assert again.files_unchanged == 1 and again.outcomes == []

    stamp = path.stat().st_mtime + 60  # same bytes landed again later
    os.utime(path, (stamp, stamp))
    touched = ingest_source(lake, landing, TRANSACTIONS, "batch-3")
    assert touched.files_touched == 1 and touched.outcomes == []
    assert {t: lake.version(t) for t in versions} == versions
    assert _bronze(lake).height == 2
    assert reconcile(lake, TRANSACTIONS).passed


def test_a_changed_file_replaces_what_it_contributed(landing: Path, lake: DeltaLake) -> None:
    path = write_landing(
        landing,
        "transactions/a.csv",
        _csv(tx_row("a1"), tx_row("a2", when="2026-01-05T00:00:00Z"), tx_row("a3", amount="x")),
    )
    write_landing(landing, "transactions/other.csv", _csv(tx_row("o1")))
    ingest_source(lake, landing, TRANSACTIONS, "batch-1")

    path.write_text(_csv(tx_row("a1", amount="99.00")))
    stamp = path.stat().st_mtime + 60
    os.utime(path, (stamp, stamp))
    report = ingest_source(lake, landing, TRANSACTIONS, "batch-2")

    # the old version touched Jan 2 and Jan 5; the new one only Jan 2
    assert report.dates_touched == {dt.date(2026, 1, 2), dt.date(2026, 1, 5)}
    bronze = _bronze(lake)
    assert bronze.select("transaction_id", "amount").rows() == [("a1", 99.0), ("o1", 12.5)]
    assert lake.read("bronze/quarantine").height == 0
    assert reconcile(lake, TRANSACTIONS).passed


def test_a_file_removed_from_landing_keeps_its_rows(landing: Path, lake: DeltaLake) -> None:
    path = write_landing(landing, "transactions/a.csv", _csv(tx_row("a1")))
    ingest_source(lake, landing, TRANSACTIONS, "batch-1")
    path.unlink()
    ingest_source(lake, landing, TRANSACTIONS, "batch-2")
    assert _bronze(lake)["transaction_id"].to_list() == ["a1"]


def test_a_rejected_file_does_not_stop_the_others(landing: Path, lake: DeltaLake) -> None:
    write_landing(landing, "customers/bad.csv", "customer_id,signup_date\n1,2020-01-01\n")
    write_landing(
        landing,
        "customers/good.csv",
        "customer_id,signup_date,home_country,credit_limit\n2,2020-01-01,US,1000\n",
    )
    report = ingest_source(lake, landing, CUSTOMERS, "batch-1")
    assert [o.source_file for o in report.rejected] == ["customers/bad.csv"]
    assert lake.read("bronze/customers")["customer_id"].to_list() == [2]
    ledger = lake.read("bronze/ingestion_ledger").sort("source_file")
    assert ledger.select("source_file", "status", "rows_read", "rows_quarantined").rows() == [
        ("customers/bad.csv", "rejected", 1, 1),
        ("customers/good.csv", "ingested", 1, 0),
    ]
    assert "missing required column(s) home_country, credit_limit" in ledger["error"][0]
    assert reconcile(lake, CUSTOMERS).passed


def test_sources_share_quarantine_and_ledger_without_clobbering(
    landing: Path, lake: DeltaLake
) -> None:
    write_landing(landing, "transactions/t.csv", _csv(tx_row("a", amount="-1")))
    write_landing(landing, "chargebacks/c.csv", "transaction_id,reported_at\na,not-a-time\n")
    ingest_source(lake, landing, TRANSACTIONS, "b1")
    ingest_source(lake, landing, CHARGEBACKS, "b2")
    quarantine = lake.read("bronze/quarantine")
    assert sorted(quarantine["source"].to_list()) == ["chargebacks", "transactions"]
    assert lake.read("bronze/ingestion_ledger").height == 2


def test_a_failure_mid_ingestion_leaves_every_table_as_it_was(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv(tx_row("a1"), tx_row("bad", amount="0")))
    ingest_source(lake, landing, TRANSACTIONS, "batch-1")
    tables = ("bronze/transactions", "bronze/quarantine", "bronze/ingestion_ledger")
    before = {t: lake.read(t).drop("ingested_at", strict=False) for t in tables}

    write_landing(landing, "transactions/b.csv", _csv(tx_row("b1"), tx_row("b2", amount="-1")))
    real_replace = engine.LakeTransaction.replace

    def failing_replace(self, table, *args, **kwargs):
        if table == "bronze/ingestion_ledger":
            raise OSError("disk full")
        return real_replace(self, table, *args, **kwargs)

    monkeypatch.setattr(engine.LakeTransaction, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        ingest_source(lake, landing, TRANSACTIONS, "batch-2")
    monkeypatch.undo()

    for table in tables:
        assert lake.read(table).drop("ingested_at", strict=False).equals(before[table]), table
    ingest_source(lake, landing, TRANSACTIONS, "batch-3")  # the next run completes it
    assert sorted(_bronze(lake)["transaction_id"].to_list()) == ["a1", "b1"]
    assert reconcile(lake, TRANSACTIONS).passed


def test_reconcile_detects_a_row_that_went_missing(landing: Path, lake: DeltaLake) -> None:
    write_landing(landing, "transactions/a.csv", _csv(tx_row("a1"), tx_row("a2")))
    ingest_source(lake, landing, TRANSACTIONS, "batch-1")
    bronze = lake.read("bronze/transactions")
    lake.replace("bronze/transactions", bronze.head(1), None, ["event_date"])
    result = reconcile(lake, TRANSACTIONS)
    assert not result.passed
    assert result.mismatches.select("source_file", "rows_accepted", "in_bronze").rows() == [
        ("transactions/a.csv", 2, 1)
    ]


def test_a_file_deleted_after_it_was_listed_is_skipped(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv(tx_row("a1")))
    gone = write_landing(landing, "transactions/gone.csv", _csv(tx_row("g1")))
    listed = engine.discover

    def discover_then_delete(*args):
        files = listed(*args)
        gone.unlink()  # deleted between discovery and hashing
        return files

    monkeypatch.setattr(engine, "discover", discover_then_delete)
    report = ingest_source(lake, landing, TRANSACTIONS, "batch-1")

    assert report.files_vanished == ["transactions/gone.csv"]
    assert [o.source_file for o in report.outcomes] == ["transactions/a.csv"]
    assert _bronze(lake)["transaction_id"].to_list() == ["a1"]
    assert lake.read("bronze/ingestion_ledger")["source_file"].to_list() == ["transactions/a.csv"]
    assert reconcile(lake, TRANSACTIONS).passed


def test_a_file_deleted_while_it_is_read_is_skipped(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv(tx_row("a1")))
    gone = write_landing(landing, "transactions/gone.csv", _csv(tx_row("g1")))
    parse = engine.parse_chunks

    def delete_then_parse(file, source, chunk_rows):
        if file.path == gone.resolve():
            gone.unlink()  # deleted after hashing, before reading
        yield from parse(file, source, chunk_rows)

    monkeypatch.setattr(engine, "parse_chunks", delete_then_parse)
    report = ingest_source(lake, landing, TRANSACTIONS, "batch-1")

    assert report.files_vanished == ["transactions/gone.csv"]
    assert report.rejected == []
    assert _bronze(lake)["transaction_id"].to_list() == ["a1"]
    assert lake.read("bronze/quarantine").is_empty()
    assert reconcile(lake, TRANSACTIONS).passed
