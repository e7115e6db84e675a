"""The `ml-platform` console script, as a user runs it."""

import hashlib
from pathlib import Path

import polars as pl
import pytest

from ml_platform.cli import main


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def silver_rows(root: Path) -> int:
    """Rows of silver/transactions under ``root/data``."""
    return pl.read_delta(str(root / "data" / "lake" / "silver" / "transactions")).height


SMALL = ["--days", "3", "--customers", "200", "--merchants", "40", "--no-progress"]
# Enough days and customers for matured labels of both classes in every split.
DEMO = ["--days", "24", "--customers", "700", "--merchants", "120", "--seed", "5", "--no-progress"]


def test_simulate_is_deterministic_and_honours_its_options(tmp_path: Path) -> None:
    args = [*SMALL, "--seed", "3", "--format", "parquet", "--scenario", "amount_inflation"]
    for run in ("a", "b"):
        assert (
            main(
                [
                    "simulate",
                    *args,
                    "--out",
                    str(tmp_path / run / "landing"),
                    "--truth-out",
                    str(tmp_path / run / "truth"),
                ]
            )
            == 0
        )
    first, second = _digest(tmp_path / "a" / "landing"), _digest(tmp_path / "b" / "landing")
    assert first == second
    assert sorted(first) == sorted(
        f"{source}/{source}_2026-01-0{day}.parquet"
        for source in ("chargebacks", "customers", "transactions")
        for day in (1, 2, 3)
    )


def test_simulate_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", "--days", "0", "--out", str(tmp_path)]) == 2
    assert "days" in capsys.readouterr().err


@pytest.mark.e2e
def test_demo_runs_end_to_end_and_can_be_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("ML_PLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("ML_PLATFORM_LABEL_MATURITY_DAYS", "4")
    assert main(["demo", *DEMO, "--defect-rate", "0.02"]) == 0
    out = capsys.readouterr().out
    assert "bronze/quarantine" in out and "silver/transactions" in out
    assert "champion: fraud_detector v1" in out and "% of the oracle" in out
    assert "scored transactions:" in out and "sample online lookup" in out
    assert "== 7/8 warehouse" in out and "make sql" in out and "docs/queries/" in out
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert main(["sql", "-c", "SELECT count(*) AS n FROM lake.transactions;"]) == 0
    assert f"| {silver_rows(tmp_path)} |" in capsys.readouterr().out.replace(",", "")
    assert warehouse.exists()
    assert (tmp_path / "dagster_home" / "dagster.yaml").exists()
    silver = pl.read_delta(str(tmp_path / "data" / "lake" / "silver" / "transactions"))
    quarantine = pl.read_delta(str(tmp_path / "data" / "lake" / "bronze" / "quarantine"))
    assert silver.height > 0 and quarantine.height > 0

    assert main(["demo", *DEMO]) == 0  # safe to re-run: nothing new to ingest
    out = capsys.readouterr().out
    assert "landing files already in" in out and "no new or changed landing files" in out
    assert "champion: fraud_detector v1" in out  # the identical retrain was not promoted
    assert pl.read_delta(str(tmp_path / "data" / "lake" / "silver" / "transactions")).height == (
        silver.height
    )
