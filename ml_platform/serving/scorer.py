"""One scoring request end to end: features, champion (and shadow challenger), decision, log.

The same steps as batch scoring (``defs/scoring/assets.py``) for a single transaction: the
features of the ``fraud_detection`` service (``features.OnlineFeatures``), the model input
prepared by the shared rules (``matrix.model_vector``, ``model_matrix`` for one row), the
champion's probability, flagged at ``Settings.decision_threshold``.
"""

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from ml_platform.lib.training.matrix import MODEL_FEATURES, model_vector
from ml_platform.serving.features import OnlineFeatures
from ml_platform.serving.models import ModelHolder
from ml_platform.serving.request_log import RequestLog
from ml_platform.serving.schemas import Transaction
from ml_platform.serving.telemetry import Telemetry


class ModelUnavailableError(RuntimeError):
    """No champion is loaded (yet)."""


@dataclass
class Scorer:
    """Scores transactions with the holder's current models and records each one."""

    features: OnlineFeatures
    models: ModelHolder
    threshold: float
    telemetry: Telemetry
    request_log: RequestLog | None = None

    def score(self, transaction: Transaction) -> dict[str, Any]:
        """Score one transaction.

        Returns:
            The ``ScoreResponse`` body as a dict.

        Raises:
            ModelUnavailableError: If no champion is loaded.
        """
        started = time.perf_counter()
        pair = self.models.current  # read once: a swap cannot reach into this request
        if pair is None:
            raise ModelUnavailableError("no champion loaded")
        when = transaction.event_timestamp.astimezone(dt.UTC)
        found = self.features.lookup(
            transaction.customer_id,
            transaction.merchant_id,
            transaction.amount,
            transaction.country,
            transaction.channel,
            when,
        )
        looked_up = time.perf_counter()
        row = model_vector(found.values)
        score = pair.champion.predict(row)
        flagged = score >= self.threshold
        predicted = time.perf_counter()
        shadow = None
        if pair.challenger is not None:
            shadow_score = pair.challenger.predict(row)
            shadow = {
                "model_version": pair.challenger.version,
                "score": shadow_score,
                "flagged": shadow_score >= self.threshold,
            }
        finished = time.perf_counter()
        timing = {
            "features_ms": (looked_up - started) * 1000,
            "model_ms": (predicted - looked_up) * 1000,
            "shadow_ms": (finished - predicted) * 1000,
            "total_ms": (finished - started) * 1000,
        }
        features = {name: found.values[name] for name in MODEL_FEATURES}
        self._observe(timing, found.defaults_used, flagged, shadow)
        if self.request_log is not None:
            self.request_log.submit(
                {
                    **transaction.model_dump(),
                    **features,
                    "event_timestamp": when,
                    "event_date": when.date(),
                    "score": score,
                    "flagged": flagged,
                    "model_version": pair.champion.version,
                    "shadow_score": shadow["score"] if shadow else None,
                    "shadow_flagged": shadow["flagged"] if shadow else None,
                    "shadow_model_version": shadow["model_version"] if shadow else None,
                    "defaults_used": found.defaults_used,
                    "scored_at": dt.datetime.now(dt.UTC),
                    "latency_ms": timing["total_ms"],
                    "features_ms": timing["features_ms"],
                    "model_ms": timing["model_ms"],
                    "shadow_ms": timing["shadow_ms"],
                }
            )
        return {
            "transaction_id": transaction.transaction_id,
            "score": score,
            "flagged": flagged,
            "threshold": self.threshold,
            "model_version": pair.champion.version,
            "shadow": shadow,
            "defaults_used": found.defaults_used,
            "feature_timestamps": found.snapshot_timestamps,
            "features": features,
            "timing": timing,
        }

    def _observe(
        self,
        timing: dict[str, float],
        defaults_used: list[str],
        flagged: bool,
        shadow: dict[str, Any] | None,
    ) -> None:
        t = self.telemetry
        t.requests.labels("scored").inc()
        t.phases.labels("features").observe(timing["features_ms"] / 1000)
        t.phases.labels("model").observe(timing["model_ms"] / 1000)
        t.phases.labels("handler").observe(timing["total_ms"] / 1000)
        if shadow is not None:
            t.phases.labels("shadow").observe(timing["shadow_ms"] / 1000)
            if shadow["flagged"] != flagged:
                t.shadow_disagreements.inc()
        if flagged:
            t.flagged.inc()
        for entity in defaults_used:
            t.defaults.labels(entity).inc()
