"""Write-audit-publish for Delta-backed assets.

A frame is validated with its Pandera model *before* it is written: a failing frame is never
published, the blocking check records the failing columns, checks and examples, and the step
fails with the same message, so downstream assets do not run and readers never see bad data.
"""

from collections.abc import Callable, Iterator

import dagster as dg
import pandera.polars as pa
import polars as pl

from ml_platform.defs.metadata import markdown_preview, pandera_column_schema
from ml_platform.defs.resources import PlatformResource
from ml_platform.lib.lake.transaction import LakeTransaction
from ml_platform.lib.validation import validate


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
    outcome = validate(frame, model)
    failures = outcome.failure_cases
    yield dg.AssetCheckResult(
        check_name=check_name,
        passed=outcome.passed,
        metadata={
            "rows": outcome.rows,
            "failures": failures.height,
            "summary": outcome.summary(),
            "failure_sample": markdown_preview(failures, 20),
        },
    )
    if not outcome.passed:
        raise dg.Failure(
            description=f"{table} not written: {outcome.summary()}",
            metadata={"failure_sample": markdown_preview(failures, 20)},
        )
    with LakeTransaction(platform.lake()) as tx:
        version = tx.replace(table, frame, predicate, frame.schema, partition_by)
    followed = after_write() if after_write else {}
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "dagster/column_schema": pandera_column_schema(model),
            "delta_version": version,
            "preview": markdown_preview(frame, 5),
            **(extra_metadata or {}),
            **followed,
        }
    )
