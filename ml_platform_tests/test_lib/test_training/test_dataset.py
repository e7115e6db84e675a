"""The training set: label maturity, labels as known at as_of, time split, lineage."""

import datetime as dt
import itertools
from pathlib import Path

import polars as pl
import pytest

from ml_platform.lib.feature_store.definitions import build_feature_repo
from ml_platform.lib.features.catalog import FEATURE_DATE, FEATURE_TABLES, TIMESTAMP
from ml_platform.lib.ingestion.sources import TRANSACTIONS as TRANSACTION_SOURCE
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.dataset import (
    LABEL,
    LABELS,
    SPLIT,
    SPLIT_NAMES,
    TRANSACTIONS,
    PinnedLake,
    TrainingSet,
    build_training_set,
    entity_frame,
    feature_service_fingerprint,
    lake_versions,
    plan_training_set,
    source_tables,
)
from ml_platform_tests.test_lib.test_training.conftest import AS_OF as AS_OF_SIMULATED
from ml_platform_tests.test_lib.test_training.conftest import MATURITY_DAYS, SimulatedLake

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 1, tzinfo=UTC)  # cutoff = 2026-01-30 00:00 with 30 days
TX_SCHEMA = TRANSACTION_SOURCE.schema
LABEL_SCHEMA = {
    "transaction_id": pl.String,
    "is_fraud": pl.Boolean,
    "reported_at": pl.Datetime("us", "UTC"),
}


def at(day: str, time: str = "12:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}+00:00")


# transaction, event time, chargeback reported at (None: none), expected label (None: excluded)
CASES = [
    ("t1", at("2026-01-05"), at("2026-01-20"), 1),
    ("t2", at("2026-01-10"), AS_OF, 1),  # reported exactly at as_of: known
    ("t3", at("2026-01-12"), AS_OF + dt.timedelta(seconds=1), 0),  # reported after as_of
    ("t4", at("2026-01-30", "00:00:00"), None, 0),  # exactly as_of - maturity: matured
    ("t5", at("2026-01-30", "00:00:01"), at("2026-02-10"), None),  # not matured yet
    ("t6", at("2026-02-20"), None, None),
]


@pytest.fixture
def hand_built(lake: DeltaLake, tmp_path: Path):
    transactions = pl.DataFrame(
        {
            "transaction_id": [c[0] for c in CASES],
            "customer_id": [1] * len(CASES),
            "merchant_id": [7] * len(CASES),
            "amount": [10.0 * (i + 1) for i in range(len(CASES))],
            "merchant_category": ["grocery"] * len(CASES),
            "channel": ["pos", "online", "atm", "pos", "pos", "pos"],
            "country": ["US"] * len(CASES),
            TIMESTAMP: [c[1] for c in CASES],
        },
        schema=TX_SCHEMA,
    )
    reported = [c for c in CASES if c[2] is not None]
    labels = pl.DataFrame(
        {
            "transaction_id": [c[0] for c in reported],
            "is_fraud": [True] * len(reported),
            "reported_at": [c[2] for c in reported],
        },
        schema=LABEL_SCHEMA,
    )
    lake.replace(TRANSACTIONS, transactions, None)
    lake.replace(LABELS, labels, None)
    for table in FEATURE_TABLES:
        lake.ensure(table.name, table.schema, [FEATURE_DATE])
    return build_feature_repo(str(tmp_path / "offline"))


def test_only_matured_transactions_with_labels_known_at_as_of(lake, hand_built) -> None:
    built = build_training_set(lake, hand_built, AS_OF, maturity_days=30)
    labels = dict(built.frame.select("transaction_id", LABEL).iter_rows())
    assert labels == {c[0]: c[3] for c in CASES if c[3] is not None}
    assert built.lineage["label_cutoff"] == "2026-01-30T00:00:00+00:00"
    # Four rows split 70/15/15 by time: t1, t2 | t3 | t4.
    assert built.frame.get_column(SPLIT).to_list() == ["train", "train", "validation", "test"]


def test_naive_as_of_is_utc_and_a_longer_maturity_drops_more(lake, hand_built) -> None:
    naive = build_training_set(lake, hand_built, AS_OF.replace(tzinfo=None), maturity_days=30)
    assert naive.lineage["as_of"] == AS_OF.isoformat()
    with pytest.raises(ValueError, match="too few"):
        build_training_set(lake, hand_built, AS_OF, maturity_days=50)  # t1 only


def test_entity_frame_maps_silver_columns_to_request_fields(lake, hand_built) -> None:
    silver = lake.read(TRANSACTIONS)
    entities = entity_frame(silver)
    assert entities.columns == [
        "transaction_id",
        "customer_id",
        "merchant_id",
        TIMESTAMP,
        "transaction_amount",
        "transaction_country",
        "transaction_channel",
    ]
    assert entities["transaction_amount"].to_list() == silver["amount"].to_list()
    assert entities["transaction_channel"].to_list() == silver["channel"].to_list()


@pytest.mark.parametrize("splits", [(0.7, 0.3), (0.7, 0.3, 0.0), (0.5, 0.3, 0.3), (0.8, -0.1, 0.3)])
def test_bad_splits_are_rejected(lake, hand_built, splits) -> None:
    with pytest.raises(ValueError, match="splits"):
        build_training_set(lake, hand_built, AS_OF, 30, splits=splits)


def test_a_pinned_lake_reads_pinned_versions_only(lake, hand_built) -> None:
    version = lake.version(TRANSACTIONS)
    pinned = PinnedLake(lake, {TRANSACTIONS: version})
    first = pinned.read(TRANSACTIONS)
    lake.replace(TRANSACTIONS, first.head(1), None)
    assert pinned.read(TRANSACTIONS).equals(first)
    assert lake.read(TRANSACTIONS).height == 1
    with pytest.raises(KeyError, match="not pinned"):
        pinned.scan(LABELS)


def test_maturity_and_labels_on_the_simulated_lake(simulated: SimulatedLake) -> None:
    as_of = dt.datetime.combine(dt.date(2026, 2, 15), dt.time(), tzinfo=UTC)
    built = build_training_set(simulated.lake, simulated.repo, as_of, MATURITY_DAYS)
    cutoff = as_of - dt.timedelta(days=MATURITY_DAYS)
    assert built.frame.get_column(TIMESTAMP).max() <= cutoff
    silver = simulated.lake.read(TRANSACTIONS)
    assert built.frame.height == silver.filter(pl.col(TIMESTAMP) <= cutoff).height
    reports = simulated.lake.read(LABELS).select("transaction_id", "reported_at")
    joined = built.frame.select("transaction_id", LABEL).join(reports, "transaction_id", "left")
    known = joined.filter(pl.col("reported_at") <= as_of)
    late = joined.filter(pl.col("reported_at") > as_of)
    assert known.height > 50 and (known[LABEL] == 1).all()
    assert late.height > 0 and (late[LABEL] == 0).all()  # reported after as_of: label 0
    assert built.frame[LABEL].sum() == known.height


def test_split_is_ordered_by_time_without_overlap(training_set: TrainingSet) -> None:
    frame = training_set.frame
    assert frame.get_column(TIMESTAMP).is_sorted()
    parts = [training_set.split(name) for name in SPLIT_NAMES]
    for older, newer in itertools.pairwise(parts):
        assert older[TIMESTAMP].max() < newer[TIMESTAMP].min()
    shares = [p.height / frame.height for p in parts]
    assert shares == pytest.approx([0.70, 0.15, 0.15], abs=0.01)
    assert {n: training_set.lineage["rows"][n]["rows"] for n in SPLIT_NAMES} == {
        n: p.height for n, p in zip(SPLIT_NAMES, parts, strict=True)
    }
    assert all(p[LABEL].sum() > 0 for p in parts)


def test_lineage_names_versions_and_feature_service(
    simulated: SimulatedLake, training_set: TrainingSet
) -> None:
    lineage = training_set.lineage
    tables = source_tables(simulated.repo)
    assert lineage["delta_versions"] == lake_versions(simulated.lake, tables)
    assert set(lineage["delta_versions"]) == {
        "silver/transactions",
        "silver/labels",
        "features/customer_daily",
        "features/merchant_daily",
    }
    assert lineage["feature_service"] == "fraud_detection"
    assert lineage["feature_service_fingerprint"] == feature_service_fingerprint(simulated.repo)
    assert set(lineage["features"]) <= set(training_set.frame.columns)


def test_batches_concatenate_to_the_whole_training_set(
    simulated: SimulatedLake, training_set: TrainingSet
) -> None:
    plan = plan_training_set(simulated.lake, simulated.repo, AS_OF_SIMULATED, MATURITY_DAYS)
    assert plan.rows == training_set.frame.height
    assert plan.lineage == training_set.lineage
    max_rows = plan.rows // 5 + 7  # five batches, the last one shorter
    batches = list(plan.batches(max_rows))
    assert [b.height for b in batches[:-1]] == [max_rows] * (len(batches) - 1)
    assert len(batches) == 5
    assert pl.concat(batches).equals(training_set.frame)
    with pytest.raises(ValueError, match="max_rows"):
        next(plan.batches(0))
