"""Prometheus metrics of the service, in their own registry (``GET /metrics``).

Every name starts with ``ml_platform_serving_``. Latency buckets are fine-grained below 10 ms,
where the service's target is.

Transactions and HTTP requests: ``requests``, ``flagged``, ``defaults`` and
``shadow_disagreements`` count transactions, so a ``/score/batch`` of n adds to them what n
``/score`` requests would (a rejected batch, 422, counts once as ``invalid``: nothing of it
was accepted). The per-request histograms keep one unit each: ``phase_latency_seconds`` times
``/score`` requests only, ``batch_phase_latency_seconds`` whole batches, with
``batches`` and ``batch_size`` beside them; ``request_latency_seconds`` has one ``path``
label per endpoint.
"""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "ml_platform_serving"
LATENCY_BUCKETS = (
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
BATCH_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_SIZE_BUCKETS = (1, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Telemetry:
    """The service's metrics."""

    def __init__(self) -> None:
        """Create every metric in a fresh registry."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Transactions by outcome (scored, invalid: 422, unavailable: 503, error: 500); "
            "a batch counts each of its transactions, a rejected batch (422) once.",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_latency_seconds",
            "Time in the application per HTTP request (routing, validation, handler, "
            "serialization), by path.",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.phases = Histogram(
            f"{PREFIX}_phase_latency_seconds",
            "Time per scoring phase of a /score request: features (online lookup + "
            "request-time features), model (champion), shadow (challenger), handler (all of "
            "the handler).",
            ["phase"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batches = Counter(
            f"{PREFIX}_batches",
            "/score/batch requests by outcome (scored, invalid: 422, unavailable: 503, "
            "error: 500).",
            ["outcome"],
            registry=r,
        )
        self.batch_size = Histogram(
            f"{PREFIX}_batch_size",
            "Transactions per scored /score/batch request.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_phases = Histogram(
            f"{PREFIX}_batch_phase_latency_seconds",
            "Time per scoring phase of a whole /score/batch request (phases as in "
            "phase_latency_seconds).",
            ["phase"],
            buckets=BATCH_LATENCY_BUCKETS,
            registry=r,
        )
        self.defaults = Counter(
            f"{PREFIX}_defaults",
            "Scored transactions that used the default features of an entity.",
            ["entity"],
            registry=r,
        )
        self.flagged = Counter(f"{PREFIX}_flagged", "Scored transactions flagged.", registry=r)
        self.shadow_disagreements = Counter(
            f"{PREFIX}_shadow_disagreements",
            "Transactions where the shadow challenger's decision differed from the champion's.",
            registry=r,
        )
        self.model_version = Gauge(
            f"{PREFIX}_model_version",
            "Registry version loaded, by alias (0: none).",
            ["alias"],
            registry=r,
        )
        self.model_swaps = Counter(
            f"{PREFIX}_model_swaps", "Times the loaded models changed.", registry=r
        )
        self.model_poll_errors = Counter(
            f"{PREFIX}_model_poll_errors", "Registry polls that failed.", registry=r
        )
        self.log_rows = Counter(
            f"{PREFIX}_request_log_rows",
            "Request log rows by outcome (written to Delta, dropped: queue full).",
            ["outcome"],
            registry=r,
        )
        self.log_write_errors = Counter(
            f"{PREFIX}_request_log_write_errors", "Failed Delta appends (retried).", registry=r
        )
        self.log_pending = Gauge(
            f"{PREFIX}_request_log_pending", "Rows waiting to be written.", registry=r
        )
        for outcome in ("scored", "invalid", "unavailable", "error"):
            self.requests.labels(outcome)
            self.batches.labels(outcome)
        for phase in ("features", "model", "shadow", "handler"):
            self.phases.labels(phase)
            self.batch_phases.labels(phase)
        for outcome in ("written", "dropped"):
            self.log_rows.labels(outcome)

    def track_pending(self, pending: Callable[[], int]) -> None:
        """Report ``pending()`` as the request log's backlog at every scrape."""
        self.log_pending.set_function(pending)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
