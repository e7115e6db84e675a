"""The model matrix: fixed columns, one dtype, the same preparation everywhere."""

import numpy as np
import polars as pl
import pytest

from ml_platform.lib.features.catalog import CUSTOMER_FEATURES, MERCHANT_FEATURES, REQUEST_FEATURES
from ml_platform.lib.training.dataset import TrainingSet
from ml_platform.lib.training.matrix import CATEGORICAL_FEATURES, MODEL_FEATURES, model_matrix


def test_model_features_are_every_numeric_feature_of_the_service() -> None:
    catalog = [f.name for f in (*CUSTOMER_FEATURES, *MERCHANT_FEATURES, *REQUEST_FEATURES)]
    assert list(MODEL_FEATURES) == [n for n in catalog if n != "home_country"]
    assert "home_country" not in MODEL_FEATURES
    assert CATEGORICAL_FEATURES == ("channel_code",)
    assert len(set(MODEL_FEATURES)) == len(MODEL_FEATURES)


def test_matrix_has_fixed_order_float_columns_and_nan_for_null(
    training_set: TrainingSet,
) -> None:
    frame = training_set.frame.head(500)
    shuffled = frame.select(reversed(frame.columns))  # column order of the input is irrelevant
    matrix = model_matrix(shuffled)
    assert list(matrix.columns) == list(MODEL_FEATURES)
    assert set(matrix.dtypes.astype(str)) == {"float64"}
    assert len(matrix) == 500
    nulls = frame.select(pl.col(MODEL_FEATURES).null_count()).row(0)
    assert tuple(int(n) for n in matrix.isna().sum()) == nulls
    assert model_matrix(frame).equals(matrix)


def test_unknown_channel_is_missing_and_known_channels_keep_their_code() -> None:
    row = {name: 1 for name in MODEL_FEATURES}
    frame = pl.DataFrame([{**row, "channel_code": code} for code in (-1, 0, 1, 2)])
    codes = model_matrix(frame)["channel_code"].to_numpy()
    assert np.isnan(codes[0]) and codes[1:].tolist() == [0.0, 1.0, 2.0]


def test_a_missing_feature_is_an_error() -> None:
    frame = pl.DataFrame({name: [1.0] for name in MODEL_FEATURES if name != "amount"})
    with pytest.raises(ValueError, match="amount"):
        model_matrix(frame)


def test_model_vector_is_model_matrix_for_one_row(training_set: TrainingSet) -> None:
    from ml_platform.lib.training.matrix import model_vector

    rows = training_set.frame.head(300)
    special = pl.DataFrame(
        [{**rows.row(0, named=True), "channel_code": -1, "amount_std_1d": None}],
        schema=rows.schema,
    )
    frame = pl.concat([rows, special])
    expected = model_matrix(frame).to_numpy()
    vectors = np.vstack([model_vector(row) for row in frame.iter_rows(named=True)])
    np.testing.assert_array_equal(vectors, expected)  # NaN == NaN here
    with pytest.raises(ValueError, match="amount"):
        model_vector({n: 1.0 for n in MODEL_FEATURES if n != "amount"})
