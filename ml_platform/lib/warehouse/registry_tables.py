"""The ``ml.model_versions`` and ``ml.training_runs`` tables, read from MLflow.

Reads go through ``lib/training``'s ``configure`` (the store and experiment) and
``model_aliases`` (aliases from the registered model), so the warehouse sees the registry
exactly as training and scoring do. A local SQLite store that does not exist yet (nothing
trained) yields empty tables rather than creating a store as a side effect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ml_platform.lib.training.registry import CHALLENGER, CHAMPION, model_aliases
from ml_platform.lib.training.tracking import Tracking, configure
from ml_platform.lib.warehouse.catalog import MODEL_VERSIONS, TRAINING_RUNS

if TYPE_CHECKING:  # MLflow itself is imported by the client that reads the store
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

_PAGE = 1000
_METRICS = ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "log_loss", "calibration_error")


def mlflow_tables(
    tracking_uri: str, artifact_root: str, model_name: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(model_versions, training_runs)`` of ``model_name`` in the store at ``tracking_uri``."""
    if (
        tracking_uri.startswith("sqlite:///")
        and not Path(tracking_uri.removeprefix("sqlite:///")).exists()
    ):
        return _frame([], MODEL_VERSIONS.polars_schema), _frame([], TRAINING_RUNS.polars_schema)
    tracking = configure(tracking_uri, artifact_root)
    runs = list(_runs(tracking))
    versions = list(_versions(tracking, model_name))
    return model_versions(tracking, model_name, versions, runs), training_runs(runs, versions)


def model_versions(
    tracking: Tracking, model_name: str, versions: list[ModelVersion], runs: list[Run]
) -> pl.DataFrame:
    """One row per registered version: aliases now held, metrics of its run, gate decision."""
    aliases: dict[str, list[str]] = {}
    for alias, version in sorted(model_aliases(tracking, model_name).items()):
        aliases.setdefault(version, []).append(alias)
    metrics = {run.info.run_id: run.data.metrics for run in runs}
    rows = []
    for version in versions:
        held = aliases.get(str(version.version), [])
        tags = version.tags or {}
        run_metrics = metrics.get(version.run_id or "", {})
        rows.append(
            {
                "model_name": version.name,
                "version": str(version.version),
                "created_at": _time(version.creation_timestamp),
                "aliases": ",".join(held),
                "is_champion": CHAMPION in held,
                "is_challenger": CHALLENGER in held,
                "run_id": version.run_id,
                "trained_as_of": _iso(tags.get("lineage.as_of")),
                **{
                    f"{split}_{name}": run_metrics.get(f"{split}_{name}")
                    for split in ("validation", "test")
                    for name in _METRICS
                },
                "gate_outcome": _tag(tags, "gate.outcome"),
                "gate_reason": _tag(tags, "gate.reason"),
                "feature_service": _tag(tags, "lineage.feature_service"),
                "code_version": _tag(tags, "lineage.code_version"),
            }
        )
    rows.sort(key=lambda r: int(r["version"]) if r["version"].isdigit() else 0)
    return _frame(rows, MODEL_VERSIONS.polars_schema)


def training_runs(runs: list[Run], versions: list[ModelVersion]) -> pl.DataFrame:
    """One row per training run of the experiment, oldest first."""
    registered = {v.run_id: str(v.version) for v in versions if v.run_id}
    rows = []
    for run in runs:
        info, data = run.info, run.data
        started, ended = _time(info.start_time), _time(info.end_time)
        tags, params, metrics = data.tags, data.params, data.metrics
        rows.append(
            {
                "run_id": info.run_id,
                "run_name": info.run_name,
                "status": info.status,
                "started_at": started,
                "ended_at": ended,
                "duration_seconds": (ended - started).total_seconds()
                if started and ended
                else None,
                "registered_version": registered.get(info.run_id),
                "trained_as_of": _iso(params.get("as_of") or tags.get("lineage.as_of")),
                "maturity_days": _int(params.get("maturity_days")),
                "train_rows": _int(params.get("rows.train")),
                "train_frauds": _int(params.get("fraud.train")),
                "validation_roc_auc": metrics.get("validation_roc_auc"),
                "test_roc_auc": metrics.get("test_roc_auc"),
                "best_iteration": _int(metrics.get("best_iteration")),
                "train_seconds": metrics.get("train_seconds"),
                "seed": _int(_tag(tags, "lineage.seed")),
                "dagster_run_id": _tag(tags, "lineage.dagster_run_id"),
                "code_version": _tag(tags, "lineage.code_version"),
            }
        )
    rows.sort(key=lambda r: r["started_at"] or dt.datetime.min.replace(tzinfo=dt.UTC))
    return _frame(rows, TRAINING_RUNS.polars_schema)


def _runs(tracking: Tracking) -> Iterator[Run]:
    client = tracking.client()
    yield from _pages(
        lambda token: client.search_runs(
            [tracking.experiment_id], max_results=_PAGE, page_token=token
        )
    )


def _versions(tracking: Tracking, model_name: str) -> Iterator[ModelVersion]:
    client = tracking.client()
    quoted = model_name.replace("'", "''")
    yield from _pages(
        lambda token: client.search_model_versions(
            f"name = '{quoted}'", max_results=_PAGE, page_token=token
        )
    )


def _pages(search: Callable[[str | None], Any]) -> Iterator[Any]:
    token = None
    while True:
        page = search(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _frame(rows: list[dict[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def _time(millis: int | None) -> dt.datetime | None:
    return None if millis is None else dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def _iso(text: str | None) -> dt.datetime | None:
    if not text or text == "none":
        return None
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _tag(tags: dict[str, str], key: str) -> str | None:
    value = tags.get(key)
    return None if value in (None, "none") else value


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
