"""The stored training set (``ml/training_set``), read a split at a time.

The training step needs the train split only after its negatives are sampled, the held-out
splits whole, and the champion gate only the test split. Reading just those keeps the steps'
memory near the sampled rows rather than the whole set: at 10M transactions the set is ~8M
rows of ~50 columns, of which training keeps ~1/4 of the train split and the held-out splits.

Rows come back in the set's order (``event_timestamp``, then ``transaction_id``) whatever the
order of the table's files, so the sample and the model are the ones the in-memory
``TrainingSet`` gives (a test holds them equal).
"""

from dataclasses import dataclass
from typing import Any

import polars as pl

from ml_platform.lib.features.catalog import TIMESTAMP
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.dataset import LABEL, SPLIT, SPLIT_NAMES, TrainingSet
from ml_platform.lib.training.model import Sample, negative_sample, split_labels

ORDER = (TIMESTAMP, "transaction_id")
"""The training set's row order (unique: one row per transaction)."""


@dataclass(frozen=True)
class StoredTrainingSet:
    """A training set written to the lake, at one Delta version, and its lineage.

    Attributes:
        lake: The lake holding the table.
        table: The table's name (``ml/training_set``).
        version: The Delta version to read (the one its materialization recorded); ``None``
            reads the latest.
        lineage: ``TrainingSet.lineage`` as recorded when it was built.
    """

    lake: DeltaLake
    table: str
    version: int | None
    lineage: dict[str, Any]

    def split(self, name: str) -> pl.DataFrame:
        """Every row of one split (``train``, ``validation`` or ``test``), in the set's order."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return self._scan(name).collect().sort(ORDER)

    def held_out(self) -> TrainingSet:
        """A ``TrainingSet`` of the validation and test rows only, with the lineage.

        What evaluation and logging read (``evaluate_training``, ``log_training``): its
        ``split("train")`` is empty.
        """
        # One read: the splits are consecutive in time, so the set's order puts every
        # validation row before every test row.
        held_out = self.lake.scan(self.table, self.version).filter(pl.col(SPLIT) != "train")
        return TrainingSet(frame=held_out.collect().sort(ORDER), lineage=self.lineage)

    def sampled_train(self, seed: int) -> tuple[pl.DataFrame, Sample]:
        """The train rows ``negative_sample`` keeps, and the sample, for ``train_model``.

        Reads the train split's labels first, samples them exactly as ``train_model`` would,
        then reads the kept rows only.

        Raises:
            ValueError: If the train split lacks fraud or legitimate rows.
        """
        keys = self._scan("train").select(*ORDER, LABEL).collect().sort(ORDER)
        sample = negative_sample(split_labels(keys, "train"), seed)
        kept = keys.filter(pl.Series(sample[0])).select("transaction_id")
        rows = self._scan("train").join(kept.lazy(), on="transaction_id", how="semi")
        return rows.collect().sort(ORDER), sample

    def _scan(self, split: str) -> pl.LazyFrame:
        return self.lake.scan(self.table, self.version).filter(pl.col(SPLIT) == split)
