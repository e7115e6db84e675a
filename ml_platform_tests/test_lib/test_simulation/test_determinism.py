from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ml_platform.lib.simulation import SimulationConfig
from ml_platform_tests.test_lib.test_simulation import run

BASE = SimulationConfig(customers=600, merchants=200, days=10, seed=11)


def _files(out_dir: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out_dir)): path.read_bytes()
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize("scenario", ["none", "new_fraud_pattern"])
def test_same_config_gives_byte_identical_files(
    tmp_path: Path, file_format: str, scenario: str
) -> None:
    config = dataclasses.replace(BASE, file_format=file_format, scenario=scenario)
    first, out_a, truth_a = run(tmp_path / "a", config)
    second, out_b, truth_b = run(tmp_path / "b", config)
    files_a, files_b = _files(out_a), _files(out_b)
    assert len(files_a) == 3 * BASE.days
    assert files_a == files_b
    assert (
        _files(truth_a)["transactions_truth.parquet"]
        == _files(truth_b)["transactions_truth.parquet"]
    )
    assert first.oracle_roc_auc == second.oracle_roc_auc


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    _, out_a, _ = run(tmp_path / "a", BASE)
    _, out_b, _ = run(tmp_path / "b", dataclasses.replace(BASE, seed=12))
    files_a, files_b = _files(out_a), _files(out_b)
    assert files_a.keys() == files_b.keys()
    name = f"transactions/transactions_{BASE.start.isoformat()}.csv"
    assert files_a[name] != files_b[name]


def test_more_days_leave_earlier_days_unchanged(tmp_path: Path) -> None:
    _, out_short, _ = run(tmp_path / "short", BASE)
    _, out_long, _ = run(tmp_path / "long", dataclasses.replace(BASE, days=BASE.days + 5))
    short, long = _files(out_short), _files(out_long)
    assert len(long) == len(short) + 3 * 5
    for name, content in short.items():
        assert long[name] == content, name
