import datetime as dt
import os
from pathlib import Path

from ml_platform.lib.ingestion.landing import discover, is_settled
from ml_platform_tests.conftest import TX_HEADER, write_landing


def test_only_settled_csv_and_parquet_inside_the_folder_are_found(
    landing: Path, tmp_path: Path
) -> None:
    for name in ["a.csv", "b.PARQUET", "data[1].csv", "with space é.csv", "sub/c.csv"]:
        write_landing(landing, f"transactions/{name}", TX_HEADER + "\n")
    for name in [".hidden.csv", "_tmp.csv", "x.csv.part", "notes.txt", "y.tmp"]:
        write_landing(landing, f"transactions/{name}", "x")
    outside = tmp_path / "secret.csv"
    outside.write_text("secret")
    os.symlink(outside, landing / "transactions" / "link.csv")
    os.symlink(tmp_path, landing / "transactions" / "escape")

    found = {f.relpath for f in discover(landing, "transactions")}
    assert found == {
        "transactions/a.csv",
        "transactions/b.PARQUET",
        "transactions/data[1].csv",
        "transactions/with space é.csv",
        "transactions/sub/c.csv",
    }


def test_file_ids_are_stable_and_distinct(landing: Path) -> None:
    write_landing(landing, "transactions/a.csv", "x")
    write_landing(landing, "transactions/b.csv", "x")
    first = {f.relpath: f.file_id for f in discover(landing, "transactions")}
    second = {f.relpath: f.file_id for f in discover(landing, "transactions")}
    assert first == second
    assert len(set(first.values())) == 2
    assert all(0 <= v < 2**63 for v in first.values())


def test_a_recently_modified_file_is_not_settled(landing: Path) -> None:
    write_landing(landing, "transactions/new.csv", "x", age_seconds=0)
    [file] = discover(landing, "transactions")
    now = dt.datetime.now(dt.UTC)
    assert not is_settled(file, now, settle_seconds=30)
    assert is_settled(file, now + dt.timedelta(seconds=31), settle_seconds=30)
