"""Rows parsed from landing files, held until they are written: in memory, or spilled to disk.

A spool keeps up to ``limit`` rows in memory; beyond that it writes them to a Parquet part in
a temporary folder and starts again, so parsing a file of any size holds at most about
``limit`` parsed rows. The rows come back in the order they were added, as pieces of at most
about ``limit`` rows each; with at most ``limit`` rows in all, as one single piece (nothing
touches the disk). Rows of a file can be dropped (the file turned out to be still being
written, or unreadable after all): they are left out of every piece, including spilled ones.

:func:`replace_in_pieces` writes a spool inside a :class:`LakeTransaction`: the first piece
replaces what the files contributed before, later pieces add their own row ranges.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from ml_platform.lib.lake import predicates as p
from ml_platform.lib.lake.transaction import LakeTransaction

FILE_ID = "source_file_id"
# Rows an ingestion holds in memory before it spills them (~75 MB of bronze rows), and so the
# size of the pieces written, each its own Delta commit. At 10M rows: 100k-row pieces took
# 19.2 s in 0.4 GB, 250k 13.8 s in 0.5 GB, 500k 12.3 s in 0.8 GB, 1M 12.5 s in 1.3 GB (each
# commit of a replace re-reads the log and prunes the table's files).
SPOOL_ROWS = 500_000


class RowSpool:
    """Rows of one table, in insertion order, in memory up to ``limit`` rows."""

    def __init__(self, schema: pl.Schema, limit: int, folder: Path) -> None:
        """Spool rows of ``schema``; parts spilled beyond ``limit`` rows go under ``folder``."""
        self.schema = schema
        self.limit = limit
        self.folder = folder
        self._frames: list[pl.DataFrame] = []
        self._buffered = 0
        self._parts: list[Path] = []
        self._dropped: dict[int, int] = {}  # file id -> rows of parts spilled before: void

    @property
    def spilled(self) -> bool:
        """Whether any rows went to disk."""
        return bool(self._parts)

    def add(self, frame: pl.DataFrame) -> None:
        """Append rows of ``schema``, first spilling what is held if ``limit`` would be passed."""
        if frame.height == 0:
            return
        if self._buffered and self._buffered + frame.height > self.limit:
            self._spill()
        self._frames.append(frame)
        self._buffered += frame.height

    def drop(self, file_id: int) -> None:
        """Forget every row of ``file_id`` added so far (rows added later are kept)."""
        kept = (f.filter(pl.col(FILE_ID) != file_id) for f in self._frames)
        self._frames = [f for f in kept if f.height]
        self._buffered = sum(f.height for f in self._frames)
        self._dropped[file_id] = len(self._parts)

    def pieces(self) -> Iterator[pl.DataFrame]:
        """The rows in insertion order: each spilled part, then what is still in memory."""
        for index, part in enumerate(self._parts):
            void = [f for f, parts in self._dropped.items() if index < parts]
            frame = pl.read_parquet(part)
            if void:
                frame = frame.filter(~pl.col(FILE_ID).is_in(void))
            if frame.height:
                yield frame
            del frame
        if self._frames or not self._parts:
            yield self._in_memory()

    def _in_memory(self) -> pl.DataFrame:
        if not self._frames:
            return pl.DataFrame(schema=self.schema)
        return pl.concat(self._frames) if len(self._frames) > 1 else self._frames[0]

    def _spill(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"part-{len(self._parts):05d}.parquet"
        self._in_memory().write_parquet(part, compression="lz4", statistics=False)
        self._parts.append(part)
        self._frames, self._buffered = [], 0


class Spools:
    """A temporary folder for the spools of one ingestion call, removed on exit."""

    def __init__(self, limit: int) -> None:
        """Spools that hold up to ``limit`` rows each in memory."""
        self.limit = limit
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> "Spools":
        """Create the folder."""
        self._tmp = tempfile.TemporaryDirectory(prefix="ml-platform-ingestion-")
        return self

    def __exit__(self, *_: object) -> None:
        """Remove the folder and every part in it."""
        if self._tmp is not None:
            self._tmp.cleanup()

    def spool(self, name: str, schema: pl.Schema) -> RowSpool:
        """A new spool for the rows of one table."""
        assert self._tmp is not None, "use Spools as a context manager"
        return RowSpool(schema, self.limit, Path(self._tmp.name) / name)


def replace_in_pieces(
    tx: LakeTransaction,
    table: str,
    spool: RowSpool,
    predicate: str,
    scope: str | None,
    partition_by: list[str],
) -> None:
    """Replace the rows matching ``predicate`` with the spooled rows, piece by piece.

    The first piece replaces everything ``predicate`` matches (what the files contributed
    before); each later piece then replaces exactly its own row ranges, which no row matches
    yet, so it adds its rows. All commits belong to ``tx``: a failure restores the table.
    """
    schema = spool.schema
    pieces = spool.pieces()
    tx.replace(table, next(pieces, pl.DataFrame(schema=schema)), predicate, schema, partition_by)
    for piece in pieces:
        if piece.height:
            predicate = _rows_of(piece, scope, partition_by)
            tx.replace(table, piece, predicate, schema, partition_by)


def _rows_of(piece: pl.DataFrame, scope: str | None, partition_by: list[str]) -> str:
    """A predicate matching the piece's rows: per file, its range of source rows."""
    row, file_id = p.column("source_row"), p.column("source_file_id")
    bounds = (
        piece.group_by(file_id)
        .agg(
            pl.col(row).min().alias("first"),
            pl.col(row).max().alias("last"),
            pl.col(row).null_count().alias("nulls"),
        )
        .sort(file_id)
    )
    by_file = []
    for file, first, last, nulls in bounds.iter_rows():
        ranges = [f"{row} >= {int(first)} AND {row} <= {int(last)}"] if first is not None else []
        ranges += [f"{row} IS NULL"] if nulls else []
        by_file.append(f"{file_id} = {int(file)} AND ({' OR '.join(ranges)})")
    predicates = [scope] if scope else []
    if "event_date" in partition_by:  # lets delta-rs prune partitions
        predicates.append(p.date_in("event_date", piece.get_column("event_date").unique()))
    return p.all_of(*predicates, " OR ".join(f"({c})" for c in by_file))
