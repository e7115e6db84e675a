"""Chunked reading changes nothing but memory: same rows, row numbers, reasons and tables."""

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.ingestion import engine, tables
from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.landing import discover
from ml_platform.lib.ingestion.parsing import parse_file
from ml_platform.lib.ingestion.reconcile import reconcile
from ml_platform.lib.ingestion.sources import CUSTOMERS, TRANSACTIONS
from ml_platform.lib.ingestion.spool import RowSpool
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing

ROWS = [
    tx_row("a1"),
    tx_row("a2", amount="-3"),
    '"q,1",1,7,"12.50",grocery,pos,US,2026-01-02T10:00:00Z',
    '"line\nbreak",1,7,12.50,"say ""hi""",pos,US,2026-01-03T10:00:00Z',
    "",  # a blank line reads as a row of nulls
    tx_row("a1", amount="99.00"),  # duplicate id in the same file
    "short,1,7,12.50,grocery,pos,US",
    tx_row("a5", channel="web"),
]
TEXTS = {
    "lf": "\n".join([TX_HEADER, *ROWS]) + "\n",
    "crlf-bom": "\ufeff" + "\r\n".join([TX_HEADER, *ROWS]) + "\r\n",
    "unterminated": "\n".join([TX_HEADER, *ROWS, tx_row("cut", amount="1")]),
    "header-only": TX_HEADER + "\n",
    "missing-column": "transaction_id,amount\na,1\nb,2\nc,3\n",
    "extra-field-late": "\n".join([TX_HEADER, tx_row("a"), tx_row("b"), tx_row("c") + ",x"]),
    "unclosed-quote": "\n".join([TX_HEADER, tx_row("a"), '"b,1,7,1,g,pos,US,x']) + "\n",
}


def _parsed(landing: Path, text: str, chunk_rows: int):
    write_landing(landing, "transactions/f.csv", text)
    [file] = discover(landing, "transactions")
    return parse_file(file, TRANSACTIONS, chunk_rows=chunk_rows)


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_a_csv_parses_the_same_in_any_chunk_size(landing: Path, name: str, chunk_rows: int) -> None:
    whole = _parsed(landing, TEXTS[name], chunk_rows=1_000)
    chunked = _parsed(landing, TEXTS[name], chunk_rows=chunk_rows)
    assert chunked.accepted.equals(whole.accepted)
    assert chunked.quarantined.equals(whole.quarantined)
    assert (chunked.rows_read, chunked.status, chunked.error, chunked.extra_columns) == (
        whole.rows_read,
        whole.status,
        whole.error,
        whole.extra_columns,
    )


def test_row_numbers_stay_file_global(landing: Path) -> None:
    parsed = _parsed(landing, TEXTS["unterminated"], chunk_rows=2)
    assert parsed.quarantined["source_row"].to_list() == [2, 5, 7, 8, 9]
    assert "row 9 is not terminated by a line break" in parsed.quarantined["reason"][-1]
    assert parsed.accepted["source_row"].to_list() == [1, 3, 4, 6]


def test_a_parquet_file_parses_the_same_in_chunks(landing: Path) -> None:
    folder = landing / "transactions"
    folder.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "transaction_id": [f"p{i}" for i in range(7)],
            "customer_id": [1] * 7,
            "merchant_id": [7] * 7,
            "amount": [5.0, -1.0, 2.0, 3.0, 0.0, 4.0, 6.0],
            "merchant_category": ["grocery"] * 7,
            "channel": ["pos"] * 7,
            "country": ["US"] * 7,
            "event_timestamp": [dt.datetime(2026, 1, 2, 10, tzinfo=dt.UTC)] * 7,
        }
    )
    frame.write_parquet(folder / "p.parquet", row_group_size=2)
    [file] = discover(landing, "transactions")
    whole = parse_file(file, TRANSACTIONS)
    for chunk_rows in (1, 3, 7):
        chunked = parse_file(file, TRANSACTIONS, chunk_rows=chunk_rows)
        assert chunked.accepted.equals(whole.accepted)
        assert chunked.quarantined.equals(whole.quarantined)
    assert whole.quarantined["source_row"].to_list() == [2, 5]


def _tables(lake: DeltaLake) -> dict[str, pl.DataFrame]:
    names = ("bronze/transactions", tables.QUARANTINE_TABLE, tables.LEDGER_TABLE)
    return {
        t: lake.read(t).drop("ingested_at", "quarantined_at", strict=False).sort(pl.all())
        for t in names
    }


def test_chunked_ingestion_writes_the_same_tables(landing: Path, tmp_path: Path) -> None:
    write_landing(landing, "transactions/a.csv", TEXTS["unterminated"])
    write_landing(landing, "transactions/b.csv", "\n".join([TX_HEADER, tx_row("b1")]) + "\n")
    write_landing(landing, "transactions/c.csv", TEXTS["extra-field-late"])
    lakes = {n: DeltaLake(str(tmp_path / f"lake-{n}")) for n in (1, 2, 1_000)}
    for chunk_rows, lake in lakes.items():
        ingest_source(
            lake, landing, TRANSACTIONS, "b1", chunk_rows=chunk_rows, spool_rows=chunk_rows
        )
        assert reconcile(lake, TRANSACTIONS).passed
    expected = _tables(lakes[1_000])
    for lake in (lakes[1], lakes[2]):
        for table, frame in _tables(lake).items():
            assert frame.equals(expected[table]), table


def test_a_changed_large_file_replaces_exactly_what_it_contributed(landing: Path, lake) -> None:
    path = write_landing(landing, "transactions/a.csv", TEXTS["lf"])
    write_landing(landing, "transactions/other.csv", "\n".join([TX_HEADER, tx_row("o1")]) + "\n")
    ingest_source(lake, landing, TRANSACTIONS, "b1", chunk_rows=2, spool_rows=2)
    write_landing(landing, "transactions/a.csv", "\n".join([TX_HEADER, *ROWS[:3]]) + "\n", 60)
    assert path.exists()
    ingest_source(lake, landing, TRANSACTIONS, "b2", chunk_rows=2, spool_rows=2)
    bronze = lake.read("bronze/transactions").sort("source_file", "source_row")
    assert bronze.select("transaction_id", "source_row").rows() == [
        ("a1", 1),
        ("q,1", 3),
        ("o1", 1),
    ]
    assert lake.read(tables.QUARANTINE_TABLE)["source_row"].to_list() == [2]
    assert reconcile(lake, TRANSACTIONS).passed


def test_a_failure_after_some_pieces_leaves_every_table_as_it_was(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "customers/c.csv", "customer_id,signup_date,home_country,credit_limit\n")
    ingest_source(lake, landing, CUSTOMERS, "b0")  # the shared tables exist
    write_landing(landing, "transactions/a.csv", TEXTS["lf"])
    ingest_source(lake, landing, TRANSACTIONS, "b1", chunk_rows=3, spool_rows=3)
    before = _tables(lake)
    write_landing(landing, "transactions/a.csv", TEXTS["crlf-bom"], age_seconds=60)
    real_replace = engine.LakeTransaction.replace
    calls: list[str] = []

    def failing_replace(self, table, *args, **kwargs):
        calls.append(table)
        if calls.count("bronze/transactions") == 3:
            raise OSError("disk full")
        return real_replace(self, table, *args, **kwargs)

    monkeypatch.setattr(engine.LakeTransaction, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        ingest_source(lake, landing, TRANSACTIONS, "b2", chunk_rows=1, spool_rows=1)
    monkeypatch.undo()
    for table, frame in _tables(lake).items():
        assert frame.equals(before[table]), table


def _csv(*ids: str) -> str:
    return "\n".join([TX_HEADER, *(tx_row(i) for i in ids)]) + "\n"


def _recording_replace(
    monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, int]], delay: float = 0.0
) -> None:
    real_replace = engine.LakeTransaction.replace

    def recording_replace(self, table, frame, *args, **kwargs):
        calls.append((table, frame.height))
        time.sleep(delay)  # a slow commit: still in flight when the main thread fails
        return real_replace(self, table, frame, *args, **kwargs)

    monkeypatch.setattr(engine.LakeTransaction, "replace", recording_replace)


def test_rows_are_written_in_pieces_of_the_spool_size_across_files(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv("a1", "a2"))
    write_landing(landing, "transactions/b.csv", _csv("b1", "b2", "b3", "b4"))
    write_landing(landing, "transactions/c.csv", _csv("c1"))
    spills: list[int] = []
    spill = RowSpool._spill
    monkeypatch.setattr(RowSpool, "_spill", lambda self: (spills.append(1), spill(self)))
    calls: list[tuple[str, int]] = []
    _recording_replace(monkeypatch, calls)

    ingest_source(lake, landing, TRANSACTIONS, "b1", chunk_rows=2, spool_rows=3)

    bronze = [n for table, n in calls if table == "bronze/transactions"]
    assert bronze == [3, 3, 1]  # a1 a2 b1 | b2 b3 b4 | c1: a file may span two pieces
    assert spills == [1]  # only b, the one file larger than the spool, touched the disk
    assert sorted(lake.read("bronze/transactions")["transaction_id"]) == [
        "a1", "a2", "b1", "b2", "b3", "b4", "c1"
    ]  # fmt: skip
    assert reconcile(lake, TRANSACTIONS).passed


def test_a_failure_parsing_a_later_file_undoes_the_pieces_already_written(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv("a1", "a2"))
    write_landing(landing, "transactions/b.csv", _csv("b1"))
    ingest_source(lake, landing, TRANSACTIONS, "b1")
    before = _tables(lake)
    write_landing(landing, "transactions/a.csv", _csv("a3", "a4", "a5"), age_seconds=60)
    write_landing(landing, "transactions/b.csv", _csv("b2"), age_seconds=60)
    parse = engine.parse_chunks

    def failing_on_b(file, source, chunk_rows):
        if file.relpath == "transactions/b.csv":
            raise OSError("read error")
        yield from parse(file, source, chunk_rows)

    monkeypatch.setattr(engine, "parse_chunks", failing_on_b)
    calls: list[tuple[str, int]] = []
    _recording_replace(monkeypatch, calls, delay=0.3)
    with pytest.raises(OSError, match="read error"):
        ingest_source(lake, landing, TRANSACTIONS, "b2", chunk_rows=1, spool_rows=1)
    monkeypatch.undo()
    time.sleep(0.5)  # a commit left in flight past the restore would have landed by now

    assert ("bronze/transactions", 1) in calls  # a's new rows were committed before b failed
    for table, frame in _tables(lake).items():
        assert frame.equals(before[table]), table


def test_a_file_found_growing_keeps_its_rows_while_the_others_are_written(
    landing: Path, lake: DeltaLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_landing(landing, "transactions/a.csv", _csv("a1"))
    slow = write_landing(landing, "transactions/b.csv", _csv("b1"))
    ingest_source(lake, landing, TRANSACTIONS, "b1")
    ledger_b = lake.read(tables.LEDGER_TABLE).filter(pl.col("source_file") == "transactions/b.csv")
    write_landing(landing, "transactions/a.csv", _csv("a2", "a3"), age_seconds=60)
    write_landing(landing, "transactions/b.csv", _csv("b2", "b3"), age_seconds=60)
    parse = engine.parse_chunks

    def parse_while_b_grows(file, source, chunk_rows):
        yield from parse(file, source, chunk_rows)
        if file.path == slow.resolve():
            with slow.open("a") as handle:
                handle.write(f"{tx_row('b4')}\n")

    monkeypatch.setattr(engine, "parse_chunks", parse_while_b_grows)
    report = ingest_source(lake, landing, TRANSACTIONS, "b2", chunk_rows=1, spool_rows=1)

    assert report.files_pending == ["transactions/b.csv"]
    assert sorted(lake.read("bronze/transactions")["transaction_id"]) == ["a2", "a3", "b1"]
    ledger = lake.read(tables.LEDGER_TABLE)
    assert ledger.filter(pl.col("source_file") == "transactions/b.csv").equals(ledger_b)
    assert reconcile(lake, TRANSACTIONS).passed
