"""When to retrain: evidence from the monitoring tables, grouped into episodes, rate-limited.

The retraining sensor re-plans from the whole monitoring history on every tick with
``plan_retraining``, a pure function: the same history always gives the same requests with
the same run keys, so Dagster's run-key deduplication makes a tick that repeats an earlier
request a no-op, whatever happened to the sensor's cursor.

* **Evidence.** A drift day: a judged feature whose share of the model's gain is at least
  ``min_importance`` drifted, or the score distribution drifted. A performance day: the
  trailing matured ROC-AUC fell below the champion's validation ROC-AUC minus the margin.
  Evidence is always about the model version that scored the data.
* **Episodes.** Consecutive evidence of one kind about one model version (gaps shorter than
  ``EPISODE_GAP_DAYS``) is one episode, and an episode requests at most one retrain. A
  retrain that keeps the old champion therefore does not re-trigger on the same evidence:
  the drift against that champion is the same episode. A new champion starts new episodes.
* **Cooldown.** Two requests are at least ``cooldown_days`` data days apart; an episode that
  starts inside the cooldown requests when it ends, if the evidence persists.
"""

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

DRIFT = "drift"
PERFORMANCE = "performance"
EPISODE_GAP_DAYS = 3  # this many quiet days end an episode


@dataclass(frozen=True)
class Evidence:
    """One day's reason to retrain.

    Attributes:
        day: The data day the evidence is about (drift: scored day; performance: report day).
        kind: ``drift`` or ``performance``.
        model_version: The model that scored the data.
        detail: Human-readable reason, e.g. ``"amount PSI 0.31 ≥ 0.1"``.
    """

    day: dt.date
    kind: str
    model_version: str
    detail: str


@dataclass(frozen=True)
class RetrainRequest:
    """A retraining run to request.

    Attributes:
        run_key: Deterministic key: kind, model version and the episode's first day.
        evidence: The evidence on the day the request is made.
        episode_start: First day of the episode.
    """

    run_key: str
    evidence: Evidence
    episode_start: dt.date

    @property
    def tags(self) -> dict[str, str]:
        """Run tags saying why the run was requested."""
        return {
            "ml_platform/trigger": "retraining_sensor",
            "ml_platform/retrain_kind": self.evidence.kind,
            "ml_platform/retrain_reason": self.evidence.detail[:255],
            "ml_platform/evidence_day": self.evidence.day.isoformat(),
            "ml_platform/episode_start": self.episode_start.isoformat(),
            "ml_platform/champion_version": self.evidence.model_version,
        }


@dataclass
class _Episode:
    start: dt.date
    last: dt.date
    requested: bool = False
    days: list[dt.date] = field(default_factory=list)


def drift_evidence(drift: pl.DataFrame, min_importance: float) -> list[Evidence]:
    """Drift days from ``monitoring/feature_drift`` rows.

    Args:
        drift: Rows with ``event_date``, ``model_version``, ``feature``, ``kind``, ``psi``, ``ks``,
            ``js_distance``, ``importance``, ``drifted``, ``judged``, ``reason``.
        min_importance: Share of gain a feature needs for its drift to count.

    Returns:
        One evidence per (day, model version) with acting drift, in day order.
    """
    acting = drift.filter(
        pl.col("drifted")
        & pl.col("judged")
        & ((pl.col("kind") == "score") | (pl.col("importance") >= min_importance))
    )
    if acting.is_empty():
        return []
    grouped = (
        acting.sort("psi", descending=True)
        .group_by("event_date", "model_version", maintain_order=True)
        .agg(pl.col("feature"), pl.col("reason"), pl.col("importance"))
        .sort("event_date", "model_version")
    )
    evidence = []
    for day, version, features, reasons, importance in grouped.iter_rows():
        shown = [
            f"{name} ({reason}, {share:.0%} of gain)" if name != "score" else f"score ({reason})"
            for name, reason, share in zip(features[:3], reasons[:3], importance[:3], strict=True)
        ]
        more = f" and {len(features) - 3} more" if len(features) > 3 else ""
        detail = f"drift on {day} vs v{version}: {', '.join(shown)}{more}"
        evidence.append(Evidence(day, DRIFT, version, detail))
    return evidence


def performance_evidence(performance: pl.DataFrame) -> list[Evidence]:
    """Degraded days from ``monitoring/model_performance`` rows, in day order."""
    degraded = performance.filter(pl.col("degraded")).sort("report_date")
    return [
        Evidence(
            row["report_date"],
            PERFORMANCE,
            row["model_version"],
            (
                f"matured ROC-AUC {row['window_roc_auc']:.4f} over {row['window_start']}…"
                f"{row['cohort_date']} < v{row['model_version']} validation "
                f"{row['validation_roc_auc']:.4f} - margin {row['margin']}"
            ),
        )
        for row in degraded.iter_rows(named=True)
    ]


def plan_retraining(evidence: list[Evidence], cooldown_days: int) -> list[RetrainRequest]:
    """Every retrain the evidence history calls for, in day order.

    Args:
        evidence: Evidence of any kinds, any order.
        cooldown_days: Minimum data days between two requests.

    Returns:
        The requests; replaying the same history returns the same requests.
    """
    episodes: dict[tuple[str, str], _Episode] = {}
    last_request: dt.date | None = None
    requests: list[RetrainRequest] = []
    gap = dt.timedelta(days=EPISODE_GAP_DAYS)
    cooldown = dt.timedelta(days=cooldown_days)
    for item in sorted(evidence, key=lambda e: (e.day, e.kind, e.model_version)):
        key = (item.kind, item.model_version)
        episode = episodes.get(key)
        if episode is None or item.day - episode.last > gap:
            episode = episodes[key] = _Episode(start=item.day, last=item.day)
        episode.last = item.day
        if episode.requested or (last_request is not None and item.day < last_request + cooldown):
            continue
        episode.requested = True
        last_request = item.day
        run_key = f"retrain:{item.kind}:v{item.model_version}:{episode.start.isoformat()}"
        requests.append(RetrainRequest(run_key, item, episode.start))
    return requests
