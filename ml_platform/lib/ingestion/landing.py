"""Finding landing files safely, and telling whether a file has changed.

Only regular ``.csv`` and ``.parquet`` files inside ``<landing>/<source>/`` are considered.
Anything that resolves outside the landing root (a symlink to ``/etc``, a ``..`` trick) is
ignored, as are hidden and in-progress files (``.name``, ``_name``, ``*.tmp``, ``*.part``).
"""

import datetime as dt
import hashlib
import logging
import os
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet")
_IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True)
class LandingFile:
    """A file in the landing folder, identified by its path, size and modification time."""

    source: str
    path: Path
    relpath: str
    size: int
    mtime_ns: int

    @property
    def file_id(self) -> int:
        """A stable signed 63-bit id of the path, used in Delta predicates instead of the name."""
        digest = hashlib.blake2b(self.relpath.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 1

    @property
    def modified_at(self) -> dt.datetime:
        """Modification time (UTC): when the file landed."""
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)

    @property
    def fingerprint(self) -> str:
        """Cheap identity: ``relpath`` + size + mtime; changes whenever the file is rewritten."""
        return f"{self.relpath}|{self.size}|{self.mtime_ns}"

    @property
    def file_format(self) -> str:
        """``csv`` or ``parquet``."""
        return self.path.suffix.lower().lstrip(".")

    def content_hash(self) -> str:
        """SHA-256 of the file's bytes, streamed."""
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
        return sha.hexdigest()


def discover(landing_dir: str | Path, source: str) -> list[LandingFile]:
    """List the landing files of ``source``, sorted by relative path."""
    root = Path(landing_dir).resolve()
    folder = root / source
    if not folder.is_dir():
        return []
    found: list[LandingFile] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            candidate = Path(dirpath) / name
            if not _looks_like_landing_file(name):
                continue
            resolved = candidate.resolve()
            if not resolved.is_relative_to(root):
                logger.warning("ignoring %s: it resolves outside the landing folder", candidate)
                continue
            try:
                stat = resolved.stat()
            except FileNotFoundError:  # deleted while the folder was listed
                continue
            if not stat_module.S_ISREG(stat.st_mode):
                continue
            found.append(
                LandingFile(
                    source=source,
                    path=resolved,
                    relpath=candidate.relative_to(root).as_posix(),
                    size=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                )
            )
    return found


def is_settled(file: LandingFile, now: dt.datetime, settle_seconds: float) -> bool:
    """Whether the file has not been modified for ``settle_seconds`` (i.e. is fully written)."""
    return (now - file.modified_at).total_seconds() >= settle_seconds


def _looks_like_landing_file(name: str) -> bool:
    lowered = name.lower()
    if lowered.startswith((".", "_")) or lowered.endswith(_IN_PROGRESS_SUFFIXES):
        return False
    return lowered.endswith(SUFFIXES)
