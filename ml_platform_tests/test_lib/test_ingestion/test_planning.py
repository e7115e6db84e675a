import datetime as dt
from pathlib import Path

from ml_platform.lib.ingestion.engine import ingest_source
from ml_platform.lib.ingestion.planning import contiguous_ranges, plan_runs, scan_landing
from ml_platform.lib.ingestion.sources import TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform_tests.conftest import TX_HEADER, tx_row, write_landing

D = dt.date


def test_contiguous_ranges() -> None:
    days = [D(2026, 1, 5), D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3), D(2026, 1, 2)]
    assert contiguous_ranges(days) == [
        (D(2026, 1, 1), D(2026, 1, 3)),
        (D(2026, 1, 5), D(2026, 1, 5)),
    ]
    assert contiguous_ranges([]) == []


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_runs_cover_exactly_the_dates_the_files_touch(landing: Path, lake: DeltaLake) -> None:
    write_landing(
        landing,
        "transactions/a.csv",
        "\n".join(
            [
                TX_HEADER,
                tx_row("a", when="2026-01-02T23:59:59Z"),
                tx_row("b", when="2026-01-03T00:00:00Z"),
            ]
        )
        + "\n",  # a file without a final line break has its last row quarantined
    )
    write_landing(
        landing,
        "transactions/late.csv",
        f"{TX_HEADER}\n{tx_row('c', when='2026-01-09T05:00:00Z')}\n",
    )
    write_landing(
        landing, "chargebacks/c.csv", "transaction_id,reported_at\na,2026-01-09T00:00:00Z\n"
    )
    scan = scan_landing(lake, str(landing), _now(), settle_seconds=5)
    runs = plan_runs(scan, lambda d: True, D(2026, 1, 31))
    summary = [
        (r.source, r.first_date, r.last_date, sorted(f.relpath for f in r.files)) for r in runs
    ]
    # Transactions before chargebacks: silver labels read the transactions' context.
    assert summary == [
        ("transactions", D(2026, 1, 2), D(2026, 1, 3), ["transactions/a.csv"]),
        ("transactions", D(2026, 1, 9), D(2026, 1, 9), ["transactions/late.csv"]),
        ("chargebacks", None, None, ["chargebacks/c.csv"]),
    ]
    again = plan_runs(scan_landing(lake, str(landing), _now(), 5), lambda d: True, D(2026, 1, 31))
    assert [r.run_key for r in again] == [r.run_key for r in runs]


def test_files_without_valid_dates_are_ingested_in_the_fallback_partition(
    landing: Path, lake: DeltaLake
) -> None:
    write_landing(landing, "transactions/x.csv", f"{TX_HEADER}\n{tx_row('a', when='bad')}\n")
    runs = plan_runs(scan_landing(lake, str(landing), _now(), 5), lambda d: True, D(2026, 1, 31))
    assert [(r.first_date, r.last_date) for r in runs] == [(D(2026, 1, 31), D(2026, 1, 31))]


def test_planned_dates_come_from_the_date_column_alone(landing: Path, lake: DeltaLake) -> None:
    rows = [
        tx_row("a", when="2026-01-02T10:00:00Z"),
        tx_row("b", when="2026-01-05T10:00:00Z", amount="-1"),  # quarantined for its amount
        tx_row("c", when="2026-01-07 10:00:00+01:00"),  # another valid form of a time
        tx_row("d", when="2026-01-09"),  # no time zone: invalid, no date
    ]
    write_landing(landing, "transactions/a.csv", "\n".join([TX_HEADER, *rows]) + "\n")
    # A file without a required column is quarantined whole: no date of its own.
    write_landing(
        landing, "transactions/b.csv", "transaction_id,event_timestamp\nx,2026-01-20T00:00:00Z\n"
    )
    runs = plan_runs(scan_landing(lake, str(landing), _now(), 5), lambda d: True, D(2026, 1, 31))
    planned = {(r.files[0].relpath, r.first_date, r.last_date) for r in runs}
    assert planned == {
        ("transactions/a.csv", D(2026, 1, 2), D(2026, 1, 2)),
        ("transactions/a.csv", D(2026, 1, 5), D(2026, 1, 5)),
        ("transactions/a.csv", D(2026, 1, 7), D(2026, 1, 7)),
        ("transactions/b.csv", D(2026, 1, 31), D(2026, 1, 31)),
    }


def test_ingested_unsettled_and_requested_files_are_not_planned(
    landing: Path, lake: DeltaLake
) -> None:
    write_landing(landing, "transactions/done.csv", f"{TX_HEADER}\n{tx_row('a')}\n")
    ingest_source(lake, landing, TRANSACTIONS, "b1")
    write_landing(landing, "transactions/growing.csv", TX_HEADER, age_seconds=0)
    requested = write_landing(
        landing, "transactions/requested.csv", f"{TX_HEADER}\n{tx_row('r')}\n"
    )
    scan = scan_landing(lake, str(landing), _now(), settle_seconds=30)
    fingerprint = next(f.fingerprint for f in scan.files if f.path == requested)
    scan = scan_landing(
        lake,
        str(landing),
        _now(),
        30,
        already_requested={"transactions/requested.csv": fingerprint},
    )
    assert scan.files == []
    assert [f.relpath for f in scan.pending] == ["transactions/growing.csv"]
    assert scan.in_flight == {"transactions/requested.csv": fingerprint}
