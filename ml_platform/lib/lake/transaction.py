"""All-or-nothing writes across several Delta tables.

Delta commits are atomic per table, but one ingestion run writes bronze rows, quarantine rows and
the ledger. :class:`LakeTransaction` remembers each table's version before the first write and,
if anything raises before the block ends, restores every written table to that version, so a
failed run leaves the lake as it was. (A process killed outright cannot restore; the writes are
idempotent, so the next run converges instead.)

A table another writer committed to since the transaction began (e.g. another partition of
the same table, materialized in parallel) is not restored: that would silently undo the other
run's commit. It is left with this transaction's (whole, idempotent) replace and an error is
logged; re-running the failed step converges.
"""

import logging
from collections.abc import Sequence
from types import TracebackType

import polars as pl

from ml_platform.lib.lake.delta import DeltaLake

logger = logging.getLogger(__name__)


class LakeTransaction:
    """Context manager grouping replace-writes on several tables."""

    def __init__(self, lake: DeltaLake) -> None:
        """Start a transaction on ``lake``."""
        self.lake = lake
        self.versions_before: dict[str, int] = {}
        self.versions_after: dict[str, int] = {}
        self._commits: dict[str, int] = {}

    def __enter__(self) -> "LakeTransaction":
        """Begin."""
        return self

    def replace(
        self,
        table: str,
        frame: pl.DataFrame,
        predicate: str | None,
        schema: pl.Schema,
        partition_by: Sequence[str] = (),
    ) -> int:
        """Replace rows matching ``predicate`` with ``frame`` (see :meth:`DeltaLake.replace`)."""
        self._begin(table, schema, partition_by)
        version = self.lake.replace(table, _conformed(frame, schema), predicate, partition_by)
        return self._committed(table, version)

    def append(
        self, table: str, frame: pl.DataFrame, schema: pl.Schema, partition_by: Sequence[str] = ()
    ) -> int:
        """Append ``frame`` to ``table`` (see :meth:`DeltaLake.append`); undone on failure too."""
        self._begin(table, schema, partition_by)
        version = self.lake.append(table, _conformed(frame, schema), partition_by)
        return self._committed(table, version)

    def _begin(self, table: str, schema: pl.Schema, partition_by: Sequence[str]) -> None:
        self.lake.ensure(table, schema, partition_by)
        if table not in self.versions_before:
            version = self.lake.version(table)
            assert version is not None
            self.versions_before[table] = version

    def _committed(self, table: str, version: int) -> int:
        self.versions_after[table] = version
        self._commits[table] = self._commits.get(table, 0) + 1
        return version

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore every written table if the block raised."""
        if exc is None:
            return
        for table, version in self.versions_before.items():
            try:
                current = self.lake.version(table)
                others = (current or 0) - version - self._commits.get(table, 0)
                if others > 0:
                    logger.error(
                        "not rolling back %s to version %s after: %s; %s commit(s) by other "
                        "writers since, which a restore would undo. Re-run to converge.",
                        table,
                        version,
                        exc,
                        others,
                    )
                    continue
                self.lake.restore(table, version)
                logger.warning("rolled back %s to version %s after: %s", table, version, exc)
            except Exception:  # pragma: no cover - keep the original error visible
                logger.exception("could not roll back %s to version %s", table, version)


def _conformed(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly ``schema``'s columns, order and types (as is if it has them)."""
    if frame.schema == schema:  # e.g. ingestion's pieces: a select and cast copied ~17 ms each
        return frame
    return frame.select(schema.names()).cast(schema)
