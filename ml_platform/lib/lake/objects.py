"""Plain files beside the lake, on a local folder or an object store.

Delta tables go through ``delta.py``; a few other files live next to them: one Parquet file
per feature view and day that Feast's offline store reads, and the HTML monitoring reports.
On a local folder they are written under a hidden temporary name, flushed and renamed over the
old file, so a reader sees the old or the new file, never half of one. On an object store
(``s3://``, ``gs://``, ``az://``) a PUT is already atomic (the object appears whole or not at
all), so the file is written in place.

Object-store access goes through ``obstore`` (the Rust ``object_store`` crate, the one
delta-rs and Polars use), configured the same way: endpoint, region and credentials from the
standard environment variables (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``…).
"""

import io
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl


def is_remote(uri: str | Path) -> bool:
    """Whether ``uri`` names an object store (``scheme://…``) rather than a local path."""
    return "://" in str(uri) and not str(uri).startswith("file://")


def join(folder: str | Path, *names: str) -> str | Path:
    """``folder/name/…``: a ``Path`` for a local folder, a URI string for an object store."""
    if is_remote(folder):
        return "/".join([str(folder).rstrip("/"), *names])
    return Path(folder).joinpath(*names)


def as_uri(target: str | Path) -> str:
    """A link to ``target``: the URI itself, or ``file://`` + the absolute local path."""
    return str(target) if is_remote(target) else Path(target).resolve().as_uri()


def list_names(folder: str | Path, suffix: str) -> list[str]:
    """Names (not paths) of the files directly in ``folder`` ending in ``suffix``.

    Hidden names (a leading ``.``: temporary files being written) are left out; a folder that
    does not exist has no files.
    """
    if not is_remote(folder):
        directory = Path(folder)
        names = [p.name for p in directory.glob(f"*{suffix}")] if directory.is_dir() else []
    else:
        import obstore

        store, prefix = _store(str(folder))
        listing = obstore.list_with_delimiter(store, prefix + "/" if prefix else None)
        names = [obj["path"].rsplit("/", 1)[-1] for obj in listing["objects"]]
    return sorted(n for n in names if n.endswith(suffix) and not n.startswith("."))


def write_parquet(frame: pl.DataFrame, target: str | Path) -> None:
    """Write ``frame`` as one Parquet file at ``target``, replacing it atomically."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    write_bytes(target, buffer.getvalue())


def write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` at ``target``, replacing it atomically; a new local file is world-readable.

    Locally: a hidden temporary file in the same folder, flushed to disk, renamed over the
    target. On an object store: one PUT.
    """
    if is_remote(target):
        import obstore

        folder, _, name = str(target).rpartition("/")
        store, prefix = _store(folder)
        obstore.put(store, f"{prefix}/{name}" if prefix else name, data)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from other readers
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def delete(target: str | Path) -> None:
    """Remove the file at ``target`` if it exists."""
    if not is_remote(target):
        Path(target).unlink(missing_ok=True)
        return
    import obstore

    folder, _, name = str(target).rpartition("/")
    store, prefix = _store(folder)
    try:
        obstore.delete(store, f"{prefix}/{name}" if prefix else name)
    except FileNotFoundError:
        pass


def _store(folder: str) -> tuple[object, str]:
    """An obstore store for the bucket of ``folder`` and the key prefix inside it."""
    from obstore.store import from_url

    parts = urlsplit(folder)
    bucket_url = f"{parts.scheme}://{parts.netloc}"
    return from_url(bucket_url), parts.path.strip("/")
