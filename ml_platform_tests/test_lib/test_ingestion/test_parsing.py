import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.ingestion.landing import discover
from ml_platform.lib.ingestion.parsing import parse_file
from ml_platform.lib.ingestion.sources import CUSTOMERS, TRANSACTIONS
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing


def _parse(landing: Path, text: str, name: str = "transactions/f.csv", source=TRANSACTIONS):
    write_landing(landing, name, text)
    [file] = [f for f in discover(landing, source.name) if f.relpath == name]
    return parse_file(file, source)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (tx_row("t", amount="-5"), "amount: must be > 0, got '-5'"),
        (tx_row("t", amount="0"), "amount: must be > 0, got '0'"),
        (tx_row("t", amount="NaN"), "amount: not a finite number, got 'NaN'"),
        (tx_row("t", amount="12.5x"), "amount: not a number"),
        (tx_row("t", customer="abc"), "customer_id: not an integer, got 'abc'"),
        (tx_row("t", channel="web"), "channel: unknown value (expected one of atm, online, pos)"),
        (tx_row("t", when="2026-01-02T10:00:00"), "event_timestamp: timestamp has no time zone"),
        (tx_row("t", when="yesterday"), "event_timestamp: not an ISO-8601 timestamp"),
        (tx_row("t", when="2026-02-30T10:00:00Z"), "event_timestamp: not an ISO-8601 timestamp"),
        (tx_row(""), "transaction_id: missing value"),
        ("t,1,7,12.50,grocery,pos,US", "event_timestamp: missing value"),  # short row
    ],
)
def test_bad_values_are_quarantined_with_the_reason(landing: Path, row: str, reason: str) -> None:
    parsed = _parse(landing, f"{TX_HEADER}\n{tx_row('good')}\n{row}\n")
    assert parsed.accepted["transaction_id"].to_list() == ["good"]
    assert parsed.quarantined.height == 1
    quarantined = parsed.quarantined.row(0, named=True)
    assert quarantined["source_row"] == 2
    assert reason in quarantined["reason"]
    assert parsed.status == "partial"


def test_all_problems_of_a_row_are_listed(landing: Path) -> None:
    parsed = _parse(landing, f"{TX_HEADER}\n{tx_row('t', amount='-1', channel='web')}\n")
    reason = parsed.quarantined["reason"][0]
    assert "amount" in reason and "channel" in reason


def test_timestamps_with_offsets_are_converted_to_utc(landing: Path) -> None:
    rows = [
        tx_row("a", when="2026-01-02T10:00:00+02:00"),
        tx_row("b", when="2026-01-02 10:00:00.250Z"),
        tx_row("c", when="2026-01-02T10:00:00-0130"),
    ]
    parsed = _parse(landing, "\n".join([TX_HEADER, *rows]) + "\n")
    stamps = parsed.accepted.sort("transaction_id")["event_timestamp"].to_list()
    assert stamps == [
        dt.datetime(2026, 1, 2, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 10, 0, 0, 250000, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 11, 30, tzinfo=dt.UTC),
    ]


def test_missing_required_columns_reject_the_whole_file(landing: Path) -> None:
    parsed = _parse(
        landing,
        "customer_id,signup_date\n1,2020-01-01\n2,2020-01-02\n",
        "customers/c.csv",
        CUSTOMERS,
    )
    assert parsed.status == "rejected"
    assert parsed.error is not None
    assert "customers/c.csv" in parsed.error
    assert "home_country, credit_limit" in parsed.error
    assert parsed.accepted.height == 0
    assert parsed.quarantined["source_row"].to_list() == [1, 2]


def test_extra_columns_are_ignored_and_reported(landing: Path) -> None:
    parsed = _parse(landing, f"{TX_HEADER},note\n{tx_row('a')},hello\n")
    assert parsed.extra_columns == ["note"]
    assert parsed.accepted.columns[1:] == TRANSACTIONS.column_names


@pytest.mark.parametrize(
    ("text", "rows", "status"),
    [
        ("", 0, "empty"),
        (f"{TX_HEADER}\n", 0, "empty"),
        (f"\ufeff{TX_HEADER}\r\n{tx_row('a')}\r\n", 1, "ingested"),
        (f'{TX_HEADER}\n"a,b","1",7,"12.50",grocery,pos,US,2026-01-02T10:00:00Z\n', 1, "ingested"),
    ],
    ids=["zero-bytes", "header-only", "bom-crlf", "quoted-comma"],
)
def test_awkward_but_valid_files(landing: Path, text: str, rows: int, status: str) -> None:
    parsed = _parse(landing, text)
    assert (parsed.accepted.height, parsed.status) == (rows, status)


def test_non_utf8_bytes_do_not_crash(landing: Path) -> None:
    path = landing / "transactions" / "latin1.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        f"{TX_HEADER}\n".encode()
        + "a,1,7,5.00,caf\xe9,pos,US,2026-01-02T10:00:00Z\n".encode("latin-1")
    )
    [file] = discover(landing, "transactions")
    parsed = parse_file(file, TRANSACTIONS)
    assert parsed.rows_read == 1
    assert parsed.accepted.height + parsed.quarantined.height == 1


def test_parquet_with_naive_timestamps_is_quarantined_row_by_row(landing: Path) -> None:
    folder = landing / "transactions"
    folder.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "transaction_id": ["a", "b"],
            "customer_id": [1, 2],
            "merchant_id": [7, 7],
            "amount": [5.0, -1.0],
            "merchant_category": ["grocery", "grocery"],
            "channel": ["pos", "pos"],
            "country": ["US", "US"],
            "event_timestamp": [dt.datetime(2026, 1, 2, 10), dt.datetime(2026, 1, 2, 11)],
        }
    )
    frame.write_parquet(folder / "naive.parquet")
    frame.with_columns(pl.col("event_timestamp").dt.replace_time_zone("UTC")).write_parquet(
        folder / "aware.parquet"
    )
    by_name = {f.relpath: parse_file(f, TRANSACTIONS) for f in discover(landing, "transactions")}
    naive = by_name["transactions/naive.parquet"]
    assert naive.accepted.height == 0
    assert all("no time zone" in r for r in naive.quarantined["reason"])
    aware = by_name["transactions/aware.parquet"]
    assert aware.accepted["transaction_id"].to_list() == ["a"]
    assert "amount: must be > 0" in aware.quarantined["reason"][0]


def test_unreadable_file_is_rejected_with_its_name(landing: Path) -> None:
    path = landing / "transactions" / "broken.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a parquet file at all")
    [file] = discover(landing, "transactions")
    parsed = parse_file(file, TRANSACTIONS)
    assert parsed.status == "rejected"
    assert parsed.error is not None and parsed.error.startswith("transactions/broken.parquet")


TIMESTAMP_TEXTS = [
    "2026-01-02T10:00:00Z",
    "2026-01-02T10:00:00.5Z",
    "2026-01-02T10:00:00.123456Z",
    "2026-01-02T10:00:00.123456789Z",
    "2026-01-02T10:00:00.Z",
    " 2026-01-02T10:00:00Z ",
    "2026-01-02T10:00:00z",
    "2026-01-02 10:00:00Z",
    "2026-01-02T10:00:00+00:00",
    "2026-01-02T10:00:00+0130",
    "2026-01-02T10:00:00-05:00",
    "2026-01-02T10:00:00",
    "2026-01-02T10:00Z",
    "2026-01-02T24:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-01-02T10:00:60Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-01-02T10:00:00Zjunk",
    "2026-1-2T10:00:00Z",
    "20260102T100000Z",
    "",
    "   ",
    "not a time",
]


def test_the_canonical_timestamp_pass_agrees_with_the_general_rules() -> None:
    # The first pass settles canonical timestamps itself and sends every other row to the
    # general rules; whatever the text, both must give the same values and reasons.
    from ml_platform.lib.ingestion.parsing import _REASON, ROW, _checked, _validate

    texts = [*TIMESTAMP_TEXTS, None]
    raw = pl.DataFrame(
        {
            ROW: list(range(len(texts))),
            "transaction_id": [f"t{i}" for i in range(len(texts))],
            "customer_id": ["1"] * len(texts),
            "merchant_id": ["7"] * len(texts),
            "amount": ["12.5"] * len(texts),
            "merchant_category": ["grocery"] * len(texts),
            "channel": ["pos"] * len(texts),
            "country": ["US"] * len(texts),
            "event_timestamp": texts,
        },
        schema_overrides={ROW: pl.Int64()},
    )
    general = _validate(raw.lazy(), raw.schema, TRANSACTIONS).collect()
    two_pass = _checked(raw, TRANSACTIONS)
    assert two_pass.equals(general)
    reasons = general.get_column(_REASON)
    assert reasons.is_null().sum() >= 8  # the sample holds valid rows of several forms ...
    assert reasons.is_not_null().sum() >= 8  # ... and invalid ones
