"""Write-audit-publish for Delta-backed assets.

A frame is validated with its Pandera model *before* it is written: a failing frame is never
published, the blocking check records the failing columns, checks and examples, and the step
fails with the same message, so downstream assets do not run and readers never see bad data.
"""

from collections.abc import Callable, Iterable, Iterator

import dagster as dg
import pandera.polars as pa
import polars as pl

from ml_platform.defs.metadata import markdown_preview, pandera_column_schema
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.lake.transaction import LakeTransaction
from ml_platform.lib.validation import ValidationOutcome, validate


def schema_check(name: str, key: dg.AssetKey, model: type[pa.DataFrameModel]) -> dg.AssetCheckSpec:
    """The blocking Pandera check of an asset."""
    return dg.AssetCheckSpec(
        f"{name}_schema_valid",
        asset=key,
        blocking=True,
        description=(
            f"The frame satisfies the Pandera model {model.__name__} (types, nulls, ranges, "
            "uniqueness, exact columns) before it is written; a failing frame is never published."
        ),
    )


def publish(
    platform: PlatformResource,
    table: str,
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    check_name: str,
    predicate: str | None,
    partition_by: list[str],
    extra_metadata: dict[str, object] | None = None,
    after_write: Callable[[], dict[str, object]] | None = None,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Validate ``frame``, then replace the rows matching ``predicate`` with it.

    ``after_write`` runs once the table is written (e.g. to export it for Feast); the metadata
    it returns is added to the materialization.
    """
    yield from publish_batches(
        platform,
        table,
        [(predicate, frame)],
        model,
        check_name,
        partition_by,
        lambda: {**(extra_metadata or {}), **(after_write() if after_write else {})},
    )


class Append:
    """The predicate of a batch that adds its rows to those of the batches before it."""

    def __repr__(self) -> str:
        return "APPEND"


APPEND = Append()
"""A batch predicate: append the batch (after a first batch that replaced the whole range)."""


def publish_batches(
    platform: PlatformResource,
    table: str,
    batches: Iterable[tuple[str | Append | None, pl.DataFrame]],
    model: type[pa.DataFrameModel],
    check_name: str,
    partition_by: list[str],
    after_write: Callable[[], dict[str, object]] | None = None,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Validate and write ``(predicate, frame)`` batches one at a time, all or nothing.

    Each batch replaces the rows matching its predicate once it passes ``model`` (``APPEND``:
    adds its rows, e.g. after a first batch that replaced the whole range); batches are
    consumed lazily, so a generator keeps one batch in memory at a time. All writes happen in
    one ``LakeTransaction``: if a batch fails validation (it is never written) or producing a
    batch raises, the table is restored to its version before the first batch. The blocking
    check is reported once, for all batches; ``after_write`` runs after the last batch and its
    metadata joins the materialization's.
    """
    rows = written = 0
    version: int | None = None
    preview: dg.MarkdownMetadataValue | None = None
    rejected: ValidationOutcome | None = None
    try:
        with LakeTransaction(platform.lake()) as tx:
            for predicate, frame in batches:
                outcome = validate(frame, model)
                if not outcome.passed:
                    rejected = outcome
                    raise _Rejected(outcome.summary())
                if isinstance(predicate, Append):
                    version = tx.append(table, frame, frame.schema, partition_by)
                else:
                    version = tx.replace(table, frame, predicate, frame.schema, partition_by)
                rows += frame.height
                written += 1
                if preview is None or (frame.height and rows == frame.height):
                    preview = markdown_preview(frame, 5)  # the first batch with rows
    except _Rejected:
        pass  # the transaction restored the table; the check below says why
    failures = rejected.failure_cases if rejected else pl.DataFrame()
    summary = rejected.summary() if rejected else f"{model.__name__}: {rows} rows valid"
    yield dg.AssetCheckResult(
        check_name=check_name,
        passed=rejected is None,
        metadata={
            "rows": rejected.rows if rejected else rows,
            "failures": failures.height,
            "summary": summary,
            "failure_sample": markdown_preview(failures, 20),
        },
    )
    if rejected is not None:
        where = (
            f" (batch {written + 1}; the {written} before it were rolled back)" if written else ""
        )
        raise dg.Failure(
            description=f"{table} not written{where}: {summary}",
            metadata={"failure_sample": markdown_preview(failures, 20)},
        )
    followed = after_write() if after_write else {}
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": pandera_column_schema(model),
            "delta_version": version,
            "preview": preview or markdown_preview(pl.DataFrame(), 5),
            **({"batches": written} if written > 1 else {}),
            **followed,
        }
    )


class _Rejected(Exception):
    """A batch failed validation: raised inside the transaction so it rolls back."""
