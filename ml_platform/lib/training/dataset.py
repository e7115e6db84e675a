"""The training set: matured transactions, their labels as known at ``as_of``, their features.

Entity rows are silver transactions old enough for their label to be trusted
(``event_timestamp <= as_of - maturity``). A row's label is 1 when a chargeback on it was
reported at or before ``as_of`` (``silver/labels`` holds the first report), else 0: a
transaction without a chargeback is not known to be fraud. Features come from the project's
point-in-time retrieval of the ``fraud_detection`` feature service (``historical_features``),
so each row sees only the feature snapshots that existed at its own time, plus the
request-time features computed from the transaction itself.

Every source table is read at a version pinned when the build starts, and those versions are
recorded in the lineage: rebuilding with the same versions (Delta time travel) gives the
same rows in the same order, whatever landed since.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ml_platform.lib.feature_store.definitions import (
    SERVICE_NAME,
    TRANSACTION_REQUEST_COLUMNS,
    FeatureRepo,
)
from ml_platform.lib.feature_store.retrieval import historical_features
from ml_platform.lib.features.catalog import TIMESTAMP
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.splits import (
    DEFAULT_SPLITS,
    LABEL,
    SPLIT,
    SPLIT_NAMES,
    check_splits,
    split_by_time,
    split_counts,
)

TRANSACTIONS = "silver/transactions"
LABELS = "silver/labels"
ENTITY_COLUMNS = ("transaction_id", "customer_id", "merchant_id", TIMESTAMP)
LINEAGE_FORMAT = 1
BATCH_ROWS = 1_000_000
"""Most entity rows given their features at once by default (``TrainingSetPlan.batches``).

The featured frame is ~50 columns wide and the point-in-time joins copy it: a batch at a time,
a 10M-transaction history's training set (~8M rows) needs a few hundred MB per batch where
the whole set at once took ~9 GB."""


@dataclass(frozen=True)
class TrainingSet:
    """A labelled, featured, time-split frame and what it was built from.

    Attributes:
        frame: One row per matured transaction, sorted by ``event_timestamp`` then
            ``transaction_id``: the entity columns, the request fields, ``label`` (0/1), every
            feature of the service and ``split`` (``train``/``validation``/``test``).
        lineage: JSON-ready description of the build (``as_of``, ``maturity_days``,
            ``splits``, ``delta_versions``, ``feature_service``, its fingerprint and feature
            list, split boundaries and row counts). ``rebuild_training_set`` takes it back.
    """

    frame: pl.DataFrame
    lineage: dict[str, Any]

    def split(self, name: str) -> pl.DataFrame:
        """The rows of one split (``train``, ``validation`` or ``test``), in time order."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return self.frame.filter(pl.col(SPLIT) == name)


class PinnedLake(DeltaLake):
    """A view of a lake whose reads see fixed table versions (Delta time travel).

    ``historical_features`` reads the feature tables through ``DeltaLake.scan``; handing it a
    pinned lake makes the whole build read one consistent snapshot. Reading a table that is
    not pinned is an error, so nothing slips in at its latest version unnoticed.
    """

    def __init__(self, lake: DeltaLake, versions: Mapping[str, int]) -> None:
        """Pin ``versions`` (table name -> Delta version) of ``lake``."""
        super().__init__(lake.root_uri, lake.storage_options)
        self.versions = dict(versions)

    def scan(self, table: str, version: int | None = None) -> pl.LazyFrame:
        """Lazily read a table at its pinned version (or at ``version`` if given)."""
        if version is None:
            if table not in self.versions:
                raise KeyError(f"table {table!r} is not pinned (pinned: {sorted(self.versions)})")
            version = self.versions[table]
        return super().scan(table, version)


def source_tables(repo: FeatureRepo) -> tuple[str, ...]:
    """Every lake table a training set reads: silver transactions and labels, feature tables."""
    return (TRANSACTIONS, LABELS, *(t.name for t in repo.tables))


def lake_versions(lake: DeltaLake, tables: Iterable[str]) -> dict[str, int]:
    """The current Delta version of each table.

    Raises:
        ValueError: If a table does not exist.
    """
    versions = {}
    for table in tables:
        version = lake.version(table)
        if version is None:
            raise ValueError(f"lake table {table!r} does not exist")
        versions[table] = version
    return versions


def entity_frame(transactions: pl.DataFrame) -> pl.DataFrame:
    """Silver transaction rows as the entity rows ``historical_features`` takes.

    The one mapping from silver columns to the feature service's request fields, shared by
    training and batch scoring.

    Args:
        transactions: Rows of ``silver/transactions`` (at least ``transaction_id``,
            ``customer_id``, ``merchant_id``, ``event_timestamp``, ``amount``, ``country``,
            ``channel``).

    Returns:
        ``transaction_id``, ``customer_id``, ``merchant_id``, ``event_timestamp`` and the
        request fields (``transaction_amount``, ``transaction_country``,
        ``transaction_channel``), in the input's row order.
    """
    return transactions.select(
        *ENTITY_COLUMNS,
        *(pl.col(silver).alias(field) for silver, field in TRANSACTION_REQUEST_COLUMNS.items()),
    )


def transaction_features(
    lake: DeltaLake, repo: FeatureRepo, transactions: pl.DataFrame
) -> pl.DataFrame:
    """Point-in-time features of silver transactions: the feature path of batch scoring.

    The same path as training (``entity_frame`` then ``historical_features``), so a
    transaction scored in batch gets exactly the features it had in its training set.

    Args:
        lake: The lake holding the feature tables.
        repo: The Feast definitions of the ``fraud_detection`` service.
        transactions: Rows of ``silver/transactions``.

    Returns:
        The entity columns, the request fields and every feature of the service, in the
        order of ``transactions``.
    """
    return historical_features(lake, entity_frame(transactions), repo)


def feature_service_fingerprint(repo: FeatureRepo) -> str:
    """A short hash of what the feature service returns: views, features, TTLs, columns.

    Two repos with the same fingerprint give the same columns with the same point-in-time
    rule, so a model's recorded fingerprint tells whether its training set can be rebuilt.
    """
    description = {
        "service": repo.service.name,
        "views": {
            view.name: {
                "ttl_seconds": view.ttl.total_seconds() if view.ttl else None,
                "features": [f.name for f in view.features],
            }
            for view in repo.feature_views
        },
        "request_features": [f.name for f in repo.request_view.features],
    }
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def feature_columns(repo: FeatureRepo) -> list[str]:
    """The feature columns of the service, in retrieval order."""
    return [
        *(f.name for t in repo.tables for f in t.features),
        *(f.name for f in repo.request_view.features),
    ]


@dataclass(frozen=True)
class TrainingSetPlan:
    """A training set before its features: the labelled entity rows, their split, the lineage.

    ``plan_training_set`` decides every row, label and split from the small entity columns;
    ``batches`` then gives the rows their features a slice at a time (a row's features depend
    on that row and the feature tables only), so a caller can write each slice before the next
    is computed. ``build_training_set`` concatenates them.

    Attributes:
        entities: One row per matured transaction in time order (``event_timestamp``, then
            ``transaction_id``): the entity columns, the request fields and ``label``.
        splits: Each entity row's split, in the same order.
        lineage: As ``TrainingSet.lineage``.
        lake: The lake pinned at the versions the lineage records.
        repo: The Feast definitions of the feature service.
    """

    entities: pl.DataFrame
    splits: pl.Series
    lineage: dict[str, Any]
    lake: PinnedLake
    repo: FeatureRepo

    @property
    def rows(self) -> int:
        """Rows of the training set."""
        return self.entities.height

    def batches(self, max_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
        """The training set's rows with their features, ``max_rows`` entity rows at a time.

        Concatenated in order, the batches are ``build_training_set``'s frame whatever
        ``max_rows`` is: same rows, order, columns and values.

        Raises:
            ValueError: If ``max_rows`` is below 1.
        """
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        for offset in range(0, self.rows, max_rows):
            entities = self.entities.slice(offset, max_rows)
            featured = historical_features(self.lake, entities, self.repo)
            yield featured.with_columns(self.splits.slice(offset, max_rows))


def plan_training_set(
    lake: DeltaLake,
    repo: FeatureRepo,
    as_of: dt.datetime,
    maturity_days: int,
    splits: Sequence[float] = DEFAULT_SPLITS,
    versions: Mapping[str, int] | None = None,
) -> TrainingSetPlan:
    """Plan the training set of transactions whose label has matured by ``as_of``.

    Takes the arguments of ``build_training_set`` (see there); reads only the entity columns
    of the matured transactions and the reported chargebacks.

    Raises:
        ValueError: On bad arguments, a missing table, or too few matured rows for three
            non-empty, non-overlapping splits.
    """
    as_of = _as_utc(as_of)
    if maturity_days < 0:
        raise ValueError(f"maturity_days must be >= 0, got {maturity_days}")
    shares = check_splits(splits)
    tables = source_tables(repo)
    if versions is None:
        versions = lake_versions(lake, tables)
    missing = [t for t in tables if t not in versions]
    if missing:
        raise ValueError(f"no version given for tables {missing}")
    pinned = PinnedLake(lake, {t: int(versions[t]) for t in tables})
    cutoff = as_of - dt.timedelta(days=maturity_days)

    transactions = (
        pinned.scan(TRANSACTIONS)
        .filter(pl.col(TIMESTAMP) <= cutoff)
        .select(*ENTITY_COLUMNS, *TRANSACTION_REQUEST_COLUMNS)
        .sort(TIMESTAMP, "transaction_id")
        .collect()
    )
    fraud = (
        pinned.scan(LABELS)
        .filter(pl.col("is_fraud") & (pl.col("reported_at") <= as_of))
        .select("transaction_id")
        .unique()
        .with_columns(pl.lit(1, pl.Int32).alias(LABEL))
        .collect()
    )
    entities = (
        entity_frame(transactions)
        .join(fraud, on="transaction_id", how="left", maintain_order="left")
        .with_columns(pl.col(LABEL).fill_null(0))
    )
    labelled, bounds = split_by_time(entities, shares)
    lineage = {
        "format": LINEAGE_FORMAT,
        "as_of": as_of.isoformat(),
        "maturity_days": maturity_days,
        "label_cutoff": cutoff.isoformat(),
        "splits": list(shares),
        "delta_versions": dict(pinned.versions),
        "feature_service": SERVICE_NAME,
        "feature_service_fingerprint": feature_service_fingerprint(repo),
        "features": feature_columns(repo),
        "rows": split_counts(labelled),
        "split_bounds": bounds,
    }
    return TrainingSetPlan(
        entities=entities,
        splits=labelled.get_column(SPLIT),
        lineage=lineage,
        lake=pinned,
        repo=repo,
    )


def build_training_set(
    lake: DeltaLake,
    repo: FeatureRepo,
    as_of: dt.datetime,
    maturity_days: int,
    splits: Sequence[float] = DEFAULT_SPLITS,
    versions: Mapping[str, int] | None = None,
) -> TrainingSet:
    """Build the training set of transactions whose label has matured by ``as_of``, in memory.

    The training step itself writes ``plan_training_set``'s batches one by one instead (its
    memory then follows the batch, not the history); this is their concatenation.

    Args:
        lake: The lake with ``silver/transactions``, ``silver/labels`` and the feature tables.
        repo: The Feast definitions of the ``fraud_detection`` service.
        as_of: The moment the labels are known at (a naive datetime is taken as UTC).
            Transactions up to ``as_of - maturity_days`` are used; chargebacks reported after
            ``as_of`` are ignored (their transaction is labelled 0).
        maturity_days: How long after a transaction its label counts as known.
        splits: Shares of train, validation and test rows; the split is by event time
            (oldest rows train, newest test), never shuffled.
        versions: Delta version of every table of ``source_tables(repo)`` to read (time
            travel); by default the current versions, pinned when the build starts.

    Returns:
        The training set and its lineage.

    Raises:
        ValueError: On bad arguments, a missing table, or too few matured rows for three
            non-empty, non-overlapping splits.
    """
    plan = plan_training_set(lake, repo, as_of, maturity_days, splits, versions)
    frame = pl.concat(list(plan.batches()), how="vertical")
    return TrainingSet(frame=frame, lineage=plan.lineage)


def rebuild_training_set(
    lake: DeltaLake, repo: FeatureRepo, lineage: Mapping[str, Any]
) -> TrainingSet:
    """Rebuild a training set from its recorded lineage (Delta time travel).

    Args:
        lake: The lake the set was built from (its history must still hold the recorded
            versions: no vacuum past them).
        repo: The Feast definitions; must have the recorded feature service fingerprint.
        lineage: ``TrainingSet.lineage`` as recorded with the model.

    Returns:
        The same rows, in the same order, with the same features and split.

    Raises:
        ValueError: If the feature service changed since the set was recorded.
    """
    recorded = lineage["feature_service_fingerprint"]
    current = feature_service_fingerprint(repo)
    if recorded != current:
        raise ValueError(
            f"feature service {lineage['feature_service']!r} changed since the training set "
            f"was built (fingerprint {recorded} then, {current} now): cannot reproduce it"
        )
    return build_training_set(
        lake,
        repo,
        as_of=dt.datetime.fromisoformat(lineage["as_of"]),
        maturity_days=int(lineage["maturity_days"]),
        splits=tuple(lineage["splits"]),
        versions=lineage["delta_versions"],
    )


def _as_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
