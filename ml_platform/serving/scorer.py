"""Scoring end to end: features, champion (and shadow challenger), decision, log.

The same steps as batch scoring (``defs/scoring/assets.py``): the features of the
``fraud_detection`` service (``features.OnlineFeatures``), the model input prepared by the
shared rules (``matrix.model_vector``, ``model_matrix`` for one row), the champion's
probability, flagged at ``Settings.decision_threshold``.

``score`` (``POST /score``) and ``score_many`` (``POST /score/batch``) are one implementation:
one online read for all the transactions (``OnlineFeatures.lookup_many``), their
``model_vector`` rows stacked into one matrix, one ``predict`` per model. Each transaction is
then recorded as a single request would be (its response, its request-log row, its counts);
only the phase timings are the batch's, shared by its transactions.
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_platform.lib.training.matrix import MODEL_FEATURES, model_vector
from ml_platform.serving.features import OnlineFeatures, TransactionFeatures, TransactionInput
from ml_platform.serving.models import ModelHolder, ModelPair
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
        return self._score([transaction], batch=False)[0]

    def score_many(self, transactions: Sequence[Transaction]) -> list[dict[str, Any]]:
        """Score transactions together: one online read, one predict per model.

        Each result equals what ``score`` returns for its transaction, except ``timing``: the
        whole batch's phase times. Every transaction is logged and counted as by ``score``.

        Returns:
            One ``ScoreResponse`` body per transaction, in input order (``[]`` for none).

        Raises:
            ModelUnavailableError: If no champion is loaded.
        """
        if not transactions:
            return []
        return self._score(transactions, batch=True)

    def _score(self, transactions: Sequence[Transaction], batch: bool) -> list[dict[str, Any]]:
        started = time.perf_counter()
        pair = self.models.current  # read once: a swap cannot reach into this request
        if pair is None:
            raise ModelUnavailableError("no champion loaded")
        whens = [t.event_timestamp.astimezone(dt.UTC) for t in transactions]
        found = self.features.lookup_many(
            [
                TransactionInput(t.customer_id, t.merchant_id, t.amount, t.country, t.channel, w)
                for t, w in zip(transactions, whens, strict=True)
            ]
        )
        looked_up = time.perf_counter()
        matrix = np.vstack([model_vector(f.values) for f in found])
        scores: list[float] = pair.champion.predict_many(matrix).tolist()
        predicted = time.perf_counter()
        shadow_scores: list[float] | None = None
        if pair.challenger is not None:
            shadow_scores = pair.challenger.predict_many(matrix).tolist()
        finished = time.perf_counter()
        timing = {
            "features_ms": (looked_up - started) * 1000,
            "model_ms": (predicted - looked_up) * 1000,
            "shadow_ms": (finished - predicted) * 1000,
            "total_ms": (finished - started) * 1000,
        }
        self._observe_timing(timing, len(transactions), shadow_scores is not None, batch)
        scored_at = dt.datetime.now(dt.UTC)
        responses = [
            self._record(
                transaction,
                when,
                features,
                score,
                None if shadow_scores is None else shadow_scores[i],
                pair,
                timing,
                scored_at,
            )
            for i, (transaction, when, features, score) in enumerate(
                zip(transactions, whens, found, scores, strict=True)
            )
        ]
        self._count(responses)
        return responses

    def _record(
        self,
        transaction: Transaction,
        when: dt.datetime,
        found: TransactionFeatures,
        score: float,
        shadow_score: float | None,
        pair: ModelPair,
        timing: dict[str, float],
        scored_at: dt.datetime,
    ) -> dict[str, Any]:
        """Log one scored transaction; its ``ScoreResponse`` body."""
        flagged = score >= self.threshold
        shadow = None
        if pair.challenger is not None and shadow_score is not None:
            shadow = {
                "model_version": pair.challenger.version,
                "score": shadow_score,
                "flagged": shadow_score >= self.threshold,
            }
        features = {name: found.values[name] for name in MODEL_FEATURES}
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
                    "scored_at": scored_at,
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

    def _observe_timing(
        self, timing: dict[str, float], size: int, shadow: bool, batch: bool
    ) -> None:
        """Per request: the phase histograms of ``/score``, or those of a batch and its size."""
        t = self.telemetry
        phases = t.batch_phases if batch else t.phases
        phases.labels("features").observe(timing["features_ms"] / 1000)
        phases.labels("model").observe(timing["model_ms"] / 1000)
        phases.labels("handler").observe(timing["total_ms"] / 1000)
        if shadow:
            phases.labels("shadow").observe(timing["shadow_ms"] / 1000)
        if batch:
            t.batches.labels("scored").inc()
            t.batch_size.observe(size)

    def _count(self, responses: list[dict[str, Any]]) -> None:
        """The per-transaction counters, as many increments as scored transactions."""
        t = self.telemetry
        t.requests.labels("scored").inc(len(responses))
        flagged = sum(1 for r in responses if r["flagged"])
        if flagged:
            t.flagged.inc(flagged)
        disagreements = sum(
            1
            for r in responses
            if r["shadow"] is not None and r["shadow"]["flagged"] != r["flagged"]
        )
        if disagreements:
            t.shadow_disagreements.inc(disagreements)
        for entity, count in Counter(e for r in responses for e in r["defaults_used"]).items():
            t.defaults.labels(entity).inc(count)
