"""Reading a landing file in chunks of rows, so that a file of any size fits in bounded memory.

CSV: the file is cut into byte ranges that end on a record boundary (a line break with an even
number of quote characters before it, so a quoted field holding a line break is never split);
each range is parsed by ``pl.read_csv`` with the header line put in front of it, so its rows
parse exactly as they would in the whole file. A file that fits in one chunk is read in a single
``pl.read_csv`` call, as before chunking. Parquet: ``scan_parquet(...).slice(...)`` decodes only
the row groups a chunk needs.

Every chunk carries ``source_row``: the file-global, 1-based number of the data row.

``pl.scan_csv(...).collect_batches()`` is not used: in polars 2.1 it held about the whole file
in memory (256 MB for a 213 MB CSV) before the first batch arrived.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from ml_platform.lib.ingestion.landing import LandingFile

ROW = "source_row"
CHUNK_ROWS = 100_000
"""Default rows per chunk: ~8 MB of CSV text; ~250 MB peak working memory on transactions."""

_SAMPLE_BYTES = 1 << 20
_QUOTE = b'"'
_NEWLINE = b"\n"


class LandingFileError(Exception):
    """A landing file that cannot be ingested at all; the message says which and why."""


def read_chunks(file: LandingFile, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """Yield the file's rows as text (CSV) or as stored (Parquet), about ``chunk_rows`` at a time.

    Columns are the file's (headers cleaned of a byte-order mark and spaces) plus ``source_row``.
    At least one frame is yielded (a zero-byte CSV gives one frame with no columns at all).

    Raises:
        LandingFileError: The file cannot be read, possibly after some chunks were yielded.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    try:
        reader = _parquet_chunks if file.file_format == "parquet" else _csv_chunks
        for frame in reader(file, chunk_rows):
            yield frame.rename({c: _clean_header(c) for c in frame.columns})
    except LandingFileError:
        raise
    except Exception as error:  # polars raises several error types for unreadable files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        message = f"{file.relpath}: unreadable {file.file_format}: {first_line}"
        raise LandingFileError(message) from error


def ends_with_line_break(path: Path) -> bool:
    """Whether the file is empty or its last byte is a line break."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return True
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _parquet_chunks(file: LandingFile, chunk_rows: int) -> Iterator[pl.DataFrame]:
    scan = pl.scan_parquet(file.path, glob=False)
    start = 0
    while True:
        frame = scan.slice(start, chunk_rows).collect()
        if frame.height or start == 0:
            yield frame.with_row_index(ROW, offset=start + 1).with_columns(
                pl.col(ROW).cast(pl.Int64)
            )
        if frame.height < chunk_rows:
            return
        start += chunk_rows


def _csv_chunks(file: LandingFile, chunk_rows: int) -> Iterator[pl.DataFrame]:
    if file.size == 0:
        yield pl.DataFrame()
        return
    with file.path.open("rb") as handle:
        block_bytes = _block_bytes(handle.read(_SAMPLE_BYTES), chunk_rows)
        if os.fstat(handle.fileno()).st_size <= block_bytes:
            yield _parse_csv(file.path, 1)  # the whole file is one chunk: read it as it is
            return
        handle.seek(0)
        yield from _csv_ranges(file, handle.read, block_bytes)


def _csv_ranges(
    file: LandingFile, read: Callable[[int], bytes], block_bytes: int
) -> Iterator[pl.DataFrame]:
    """Parse the file range by range, each range ending on a record boundary."""
    header: bytes | None = None
    columns: list[str] | None = None
    carried = b""  # an incomplete record from the previous block
    next_row = 1
    while True:
        block = read(block_bytes)
        data = carried + block if carried else block
        if block:
            cut = _last_record_end(data, searched_from=len(carried))
            if cut == 0:  # no complete record yet (a very long one): read on
                carried = data
                continue
            piece, carried = data[:cut], data[cut:]
        else:
            piece, carried = data, b""
            if not piece:
                return
        if header is None:
            header = piece[: _first_record_end(piece)]
            frame = _parse_csv(piece, next_row)
        else:
            frame = _parse_csv(header + piece, next_row)
        if columns is None:
            columns = frame.columns
        elif frame.columns != columns:  # cannot happen with one header; never mislabel values
            raise LandingFileError(f"{file.relpath}: columns changed between chunks")
        next_row += frame.height
        yield frame
        if not block:
            return


def _parse_csv(source: Path | bytes, first_row: int) -> pl.DataFrame:
    frame = pl.read_csv(
        source,
        infer_schema=False,
        glob=False,
        encoding="utf8-lossy",
        row_index_name=ROW,
        row_index_offset=first_row,
        raise_if_empty=False,
    )
    return frame.with_columns(pl.col(ROW).cast(pl.Int64))


def _block_bytes(sample: bytes, chunk_rows: int) -> int:
    """Bytes that hold about ``chunk_rows`` rows, from the line length in ``sample``."""
    lines = max(1, sample.count(_NEWLINE))
    return max(1, round(chunk_rows * len(sample) / lines))


def _last_record_end(data: bytes, searched_from: int = 0) -> int:
    """Index just after the last record-ending line break at or after ``searched_from``, or 0.

    ``data`` starts on a record boundary; a line break ends a record when the number of quote
    characters before it is even (``""`` inside a quoted field counts twice). Walks back one
    line at a time, counting each byte once.
    """
    quotes = data.count(_QUOTE)
    end = len(data)
    after = 0
    position = data.rfind(_NEWLINE, searched_from)
    while position >= 0:
        after += data.count(_QUOTE, position + 1, end)
        if (quotes - after) % 2 == 0:
            return position + 1
        end = position + 1
        position = data.rfind(_NEWLINE, searched_from, position)
    return 0


def _first_record_end(data: bytes) -> int:
    """Index just after the first record (after any leading blank lines), or ``len(data)``."""
    position = len(data) - len(data.lstrip(b"\r\n")) - 1
    quotes = 0
    while True:
        start = position + 1
        position = data.find(_NEWLINE, start)
        if position < 0:
            return len(data)
        quotes += data.count(_QUOTE, start, position)
        if quotes % 2 == 0:
            return position + 1


def _clean_header(name: str) -> str:
    return name.replace("\ufeff", "").strip()
