"""Point-in-time correctness of Feast's retrieval and of the project's own Polars join."""

import datetime as dt
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ml_platform.lib.feature_store.definitions import (
    TRANSACTION_AMOUNT,
    TRANSACTION_CHANNEL,
    TRANSACTION_COUNTRY,
)
from ml_platform.lib.feature_store.retrieval import historical_features
from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY, TIMESTAMP
from ml_platform_tests.test_lib.test_feature_store.snapshots import (
    FEAST_WARNINGS,
    day_end,
    export_all,
    feast_historical,
    random_entity_rows,
    random_snapshots,
    snapshot_rows,
    write_snapshots,
)

pytestmark = FEAST_WARNINGS

UTC = dt.UTC
D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)  # stamped 01-02 00:00 and 01-03 00:00
US = dt.timedelta(microseconds=1)


def snapshot(table, key, day, mean):
    """A snapshot whose features all come from one seed, recognisable by ``mean``."""
    frame = snapshot_rows(table, [key], day, random.Random(mean))
    name = "amount_mean_30d" if table is CUSTOMER_DAILY else "merchant_amount_mean_7d"
    return frame.with_columns(pl.lit(mean).alias(name))


@pytest.fixture
def hand_built(lake, settings):
    """Customer 1 on D1 (10.0) and D2 (20.0); customer 2 on D1 (30.0); merchant 7 on D1."""
    customers = pl.concat(
        [
            snapshot(CUSTOMER_DAILY, 1, D1, 10.0),
            snapshot(CUSTOMER_DAILY, 1, D2, 20.0),
            snapshot(CUSTOMER_DAILY, 2, D1, 30.0),
        ]
    )
    merchants = snapshot(MERCHANT_DAILY, 7, D1, 70.0)
    write_snapshots(lake, CUSTOMER_DAILY, customers)
    write_snapshots(lake, MERCHANT_DAILY, merchants)
    for table in (CUSTOMER_DAILY, MERCHANT_DAILY):
        export_all(lake, settings, table)
    return customers


# (customer, transaction time, expected amount_mean_30d)
CASES = [
    (1, day_end(D1) - US, None),  # before the first snapshot
    (1, day_end(D1), 10.0),  # snapshot stamped exactly at the transaction time: included
    (1, day_end(D2) - US, 10.0),  # never the later snapshot, even a microsecond before it
    (1, day_end(D2), 20.0),
    (1, day_end(D2) + dt.timedelta(days=2), 20.0),  # exactly TTL (2 days) old: still valid
    (1, day_end(D2) + dt.timedelta(days=2) + US, None),  # older than the TTL: missing
    (2, day_end(D2) + dt.timedelta(hours=12), 30.0),  # newest is D1's, 1.5 days old
    (3, day_end(D2), None),  # no history: nulls, not a neighbour's values
]


def entity_rows(cases):
    n = len(cases)
    return pl.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            CUSTOMER_DAILY.join_key: [c[0] for c in cases],
            MERCHANT_DAILY.join_key: [7] * n,
            TIMESTAMP: [c[1] for c in cases],
            TRANSACTION_AMOUNT: [40.0] * n,
            TRANSACTION_COUNTRY: ["US"] * n,
            TRANSACTION_CHANNEL: ["pos"] * n,
        },
        schema_overrides={TIMESTAMP: pl.Datetime("us", "UTC")},
    )


@pytest.fixture(params=["feast", "polars"])
def retrieve(request, lake, repo):
    if request.param == "feast":
        store = request.getfixturevalue("store")
        return lambda entities: feast_historical(store, entities)
    return lambda entities: historical_features(lake, entities, repo)


def test_each_row_gets_the_snapshot_valid_at_its_time(hand_built, retrieve):
    got = retrieve(entity_rows(CASES)).sort("transaction_id")
    assert got.height == len(CASES)
    assert got["amount_mean_30d"].to_list() == [c[2] for c in CASES]
    # every feature of the row comes from that one snapshot
    for (customer, _, mean), row in zip(CASES, got.iter_rows(named=True), strict=True):
        snap = hand_built.filter(
            (pl.col("customer_id") == customer) & (pl.col("amount_mean_30d") == (mean or -1.0))
        )
        for feature in CUSTOMER_DAILY.features:
            expected = snap[feature.name].item() if snap.height else None
            assert row[feature.name] == expected, (customer, mean, feature.name)
        expected_ratio = None if mean is None else 40.0 / mean
        assert row["amount_to_mean_30d"] == expected_ratio


def test_merchant_features_follow_the_same_rule(hand_built, retrieve):
    got = retrieve(entity_rows(CASES)).sort("transaction_id")
    # merchant 7 has only D1 (stamped day_end(D1)), valid until day_end(D1) + 2 days
    expected = [
        70.0 if day_end(D1) <= t <= day_end(D1) + dt.timedelta(days=2) else None
        for _, t, _ in CASES
    ]
    assert got["merchant_amount_mean_7d"].to_list() == expected


def test_polars_join_equals_feast_on_random_rows(lake, settings, repo, store):
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(6)]
    customers, merchants = list(range(1, 61)), list(range(100, 115))
    write_snapshots(lake, CUSTOMER_DAILY, random_snapshots(CUSTOMER_DAILY, customers, days, 1))
    write_snapshots(lake, MERCHANT_DAILY, random_snapshots(MERCHANT_DAILY, merchants, days, 2))
    for table in (CUSTOMER_DAILY, MERCHANT_DAILY):
        export_all(lake, settings, table)
    entities = random_entity_rows(
        [*customers, 999],  # 999 has no history
        [*merchants, 888],
        start=day_end(days[0]) - dt.timedelta(hours=6),
        end=day_end(days[-1]) + dt.timedelta(days=3),  # runs past the TTL of the last day
        n=400,
        seed=3,
    ).with_row_index("transaction_id")

    ours = historical_features(lake, entities, repo)
    theirs = feast_historical(store, entities)

    assert ours.columns == theirs.columns
    assert ours.height == theirs.height == entities.height
    # Feast's pandas frame turns nullable integer features into floats: compare as ours
    assert_frame_equal(
        ours.sort("transaction_id"),
        theirs.cast(ours.schema).sort("transaction_id"),
        check_exact=False,
        rel_tol=1e-12,
        abs_tol=0.0,
    )
    # the sample exercises every case: found, expired or unknown, and both ratio kinds
    assert 0 < ours["amount_mean_30d"].null_count() < ours.height
    assert 0 < ours["amount_to_mean_30d"].null_count() < ours.height
    assert ours["merchant_tx_count_7d"].null_count() > 0


def test_entity_rows_keep_their_order_and_extra_columns(hand_built, lake, repo):
    entities = entity_rows(list(reversed(CASES))).with_columns(pl.lit(1).alias("label"))
    got = historical_features(lake, entities, repo)
    assert got.columns[: entities.width] == entities.columns
    assert got["transaction_id"].to_list() == entities["transaction_id"].to_list()


def test_naive_timestamps_are_utc(hand_built, lake, repo):
    aware = entity_rows(CASES)
    naive = aware.with_columns(pl.col(TIMESTAMP).dt.replace_time_zone(None))
    assert historical_features(lake, naive, repo).equals(historical_features(lake, aware, repo))


def test_missing_request_field_is_refused(hand_built, lake, repo):
    with pytest.raises(ValueError, match=TRANSACTION_CHANNEL):
        historical_features(lake, entity_rows(CASES).drop(TRANSACTION_CHANNEL), repo)


def test_no_entity_rows_gives_the_columns_and_no_rows(hand_built, lake, repo):
    entities = entity_rows(CASES).clear()
    got = historical_features(lake, entities, repo)
    assert got.height == 0
    assert got.columns == historical_features(lake, entity_rows(CASES), repo).columns
