"""The one-pass screen agrees with Pandera on every frame; failures still come from Pandera."""

import pandera.polars as pa
import polars as pl
import pytest
from pandera.errors import SchemaErrors

from ml_platform.lib.features.catalog import CUSTOMER_DAILY, TIMESTAMP, Check
from ml_platform.lib.features.customer import customer_daily_features
from ml_platform.lib.features.merchant import merchant_daily_features
from ml_platform.lib.features.schemas import CustomerDaily, MerchantDaily
from ml_platform.lib.validation import screen, screenable, validate
from ml_platform_tests.test_lib.test_features.test_one_day import START, _history

LAST = START.replace(day=20)


def _pandera_passes(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> bool:
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors:
        return False
    return True


@pytest.fixture(scope="module")
def customers() -> pl.DataFrame:
    """Valid customer snapshots of a random history, as the computation returns them."""
    transactions, people, labels = _history(seed=11)
    return customer_daily_features(transactions, people, labels, START, LAST)


@pytest.fixture(scope="module")
def merchants() -> pl.DataFrame:
    transactions, _, labels = _history(seed=12)
    return merchant_daily_features(transactions, labels, START, LAST)


def _set(frame: pl.DataFrame, column: str, row: int, value: object) -> pl.DataFrame:
    """``frame`` with one cell replaced (same dtype)."""
    index = pl.int_range(pl.len()) == row
    literal = pl.lit(value, dtype=frame.schema[column])
    return frame.with_columns(pl.when(index).then(literal).otherwise(pl.col(column)).alias(column))


def _broken_customer_frames(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """One violation of each kind the customer model checks, each in its own frame."""
    features = {f.name: f.check for f in CUSTOMER_DAILY.features}
    count = next(n for n, c in features.items() if c is Check.COUNT)
    amount = next(n for n, c in features.items() if c is Check.NON_NEGATIVE)
    share = next(n for n, c in features.items() if c is Check.SHARE)
    row = frame.height // 2
    return {
        "null key": _set(frame, "customer_id", row, None),
        "negative key": _set(frame, "customer_id", 0, -1),
        "null count": _set(frame, count, row, None),
        "negative count": _set(frame, count, row, -3),
        "NaN amount": _set(frame, amount, row, float("nan")),
        "negative amount": _set(frame, amount, row, -0.5),
        "share above one": _set(frame, share, row, 1.5),
        "NaN share": _set(frame, share, row, float("nan")),
        "repeated snapshot": pl.concat(
            [frame.head(row + 1), frame.slice(row, 1), frame.slice(row + 1)]
        ),
        "extra column": frame.with_columns(pl.lit(1).alias("surprise")),
        "missing column": frame.drop(share),
        "wrong dtype": frame.with_columns(pl.col(count).cast(pl.Float64)),
        "naive timestamp": frame.with_columns(pl.col(TIMESTAMP).dt.replace_time_zone(None)),
    }


def test_valid_frames_pass_the_screen_and_pandera(
    customers: pl.DataFrame, merchants: pl.DataFrame
) -> None:
    for frame, model in ((customers, CustomerDaily), (merchants, MerchantDaily)):
        assert frame.height > 100
        assert screen(frame, model) is True
        assert _pandera_passes(frame, model)
        assert validate(frame, model).passed
    shuffled = customers.sample(fraction=1.0, shuffle=True, seed=4)  # the hashing uniqueness path
    assert screen(shuffled, CustomerDaily) is True and _pandera_passes(shuffled, CustomerDaily)


KINDS = [
    "null key",
    "negative key",
    "null count",
    "negative count",
    "NaN amount",
    "negative amount",
    "share above one",
    "NaN share",
    "repeated snapshot",
    "extra column",
    "missing column",
    "wrong dtype",
    "naive timestamp",
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_violation_fails_the_screen_and_is_reported_by_pandera(
    customers: pl.DataFrame, kind: str
) -> None:
    broken = _broken_customer_frames(customers)[kind]
    assert not _pandera_passes(broken, CustomerDaily)  # the mutation is a real violation
    assert screen(broken, CustomerDaily) is False
    outcome = validate(broken, CustomerDaily)
    assert not outcome.passed
    try:
        CustomerDaily.validate(broken, lazy=True)
    except SchemaErrors as errors:
        expected = errors.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
    assert outcome.failure_cases.equals(expected)  # Pandera's own report, unchanged


def test_a_null_in_a_nullable_column_passes_both(customers: pl.DataFrame) -> None:
    share = next(f.name for f in CUSTOMER_DAILY.features if f.check is Check.SHARE)
    with_null = _set(customers, share, 3, None)
    assert screen(with_null, CustomerDaily) is True
    assert _pandera_passes(with_null, CustomerDaily)


class _ElementWise(pa.DataFrameModel):
    value: int = pa.Field(ge=0)

    @pa.check("value", element_wise=True)
    def small(cls, value: int) -> bool:
        return value < 10


class _Unique(pa.DataFrameModel):
    value: int = pa.Field(unique=True)


class _Coerced(pa.DataFrameModel):
    value: int = pa.Field(ge=0)

    class Config:
        coerce = True


@pytest.mark.parametrize(
    ("model", "bad"), [(_ElementWise, [1, 30]), (_Unique, [1, 1]), (_Coerced, [2, -1])]
)
def test_models_the_screen_cannot_mirror_are_validated_by_pandera_alone(
    model: type[pa.DataFrameModel], bad: list[int]
) -> None:
    assert not screenable(model.to_schema())
    good = pl.DataFrame({"value": [1, 2, 3]})
    assert screen(good, model) is None
    assert validate(good, model).passed
    assert not validate(pl.DataFrame({"value": bad}), model).passed


def test_the_screen_calls_the_check_function_pandera_would_call_now(
    customers: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A built-in check keeps the dispatcher it was made with; Pandera looks the function up
    # again at each call, because its registry can be rebuilt meanwhile (seen in the suite:
    # a cached schema's dispatcher without the polars implementation). The screen does too.
    from pandera.api.function_dispatch import Dispatcher

    check = CustomerDaily.to_schema().columns["customer_id"].checks[0]
    stale = Dispatcher()
    stale.register(lambda data, min_value: data)  # a generic function only (typing.Any)
    stale._name = check._check_fn.__name__
    monkeypatch.setattr(check, "_check_fn", stale)
    assert screen(customers, CustomerDaily) is True
    assert screen(_set(customers, "customer_id", 0, -1), CustomerDaily) is False
