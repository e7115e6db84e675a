"""The feature models' uniqueness check: each (entity, snapshot time) once, in any row order."""

import polars as pl
import pytest

from ml_platform.lib.features.catalog import TIMESTAMP
from ml_platform.lib.features.merchant import merchant_daily_features
from ml_platform.lib.features.schemas import MerchantDaily
from ml_platform.lib.validation import validate
from ml_platform_tests.test_lib.test_features.test_one_day import START, _history

KEY = "merchant_id"


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    """Valid merchant snapshots of a random history, as the computation returns them."""
    transactions, _, labels = _history(seed=5)
    computed = merchant_daily_features(transactions, labels, START, START.replace(day=28))
    assert computed.height > 100 and validate(computed, MerchantDaily).passed
    return computed


def _duplicated(frame: pl.DataFrame, row: int) -> pl.DataFrame:
    """``frame`` with row ``row`` repeated right after itself (still sorted)."""
    return pl.concat([frame.head(row + 1), frame.slice(row, 1), frame.slice(row + 1)])


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_a_repeated_snapshot_fails_the_check_and_names_its_rows(
    frame: pl.DataFrame, order: str
) -> None:
    broken = _duplicated(frame, 40)
    if order == "shuffled":
        broken = broken.sample(fraction=1.0, shuffle=True, seed=1)
    outcome = validate(broken, MerchantDaily)
    assert not outcome.passed
    failures = outcome.failure_cases
    assert set(failures.get_column("check")) == {"unique_entity_snapshot"}
    assert "unique_entity_snapshot failed for 2 row(s)" in outcome.summary()


def test_the_same_entity_at_another_time_is_not_a_repeat(frame: pl.DataFrame) -> None:
    moved = (
        _duplicated(frame, 40)
        .with_row_index()
        .with_columns(
            pl.when(pl.col("index") == 41)
            .then(pl.col(TIMESTAMP) + pl.duration(days=365))
            .otherwise(pl.col(TIMESTAMP))
            .alias(TIMESTAMP)
        )
    )
    shuffled = moved.drop("index").sample(fraction=1.0, shuffle=True, seed=2)
    assert validate(shuffled, MerchantDaily).passed  # unsorted: the hashing path
    assert validate(frame.sample(fraction=1.0, shuffle=True, seed=3), MerchantDaily).passed
