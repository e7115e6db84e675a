"""Prometheus metrics of the service, in their own registry (``GET /metrics``).

Every name starts with ``ml_platform_serving_``. Latency buckets are fine-grained below 10 ms,
where the service's target is.
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
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Telemetry:
    """The service's metrics."""

    def __init__(self) -> None:
        """Create every metric in a fresh registry."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Scoring requests by outcome (scored, invalid: 422, unavailable: 503, error: 500).",
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
            "Time per scoring phase: features (online lookup + request-time features), "
            "model (champion), shadow (challenger), handler (all of the handler).",
            ["phase"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.defaults = Counter(
            f"{PREFIX}_defaults",
            "Scored requests that used the default features of an entity.",
            ["entity"],
            registry=r,
        )
        self.flagged = Counter(f"{PREFIX}_flagged", "Scored requests flagged.", registry=r)
        self.shadow_disagreements = Counter(
            f"{PREFIX}_shadow_disagreements",
            "Requests where the shadow challenger's decision differed from the champion's.",
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
        for phase in ("features", "model", "shadow", "handler"):
            self.phases.labels(phase)
        for outcome in ("written", "dropped"):
            self.log_rows.labels(outcome)

    def track_pending(self, pending: Callable[[], int]) -> None:
        """Report ``pending()`` as the request log's backlog at every scrape."""
        self.log_pending.set_function(pending)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
