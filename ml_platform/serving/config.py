"""Configuration of the online scoring service, read from ``ML_PLATFORM_SERVING_*`` variables.

Locations (lake, Feast, MLflow) and the platform's tunables (model name, decision threshold)
come from ``Settings.from_env()``; what only the service needs is read here.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ml_platform.settings import Settings

ENV_PREFIX = "ML_PLATFORM_SERVING_"
REQUEST_LOG_TABLE = "serving/online_scores"


@dataclass(frozen=True)
class ServingConfig:
    """How the service runs.

    Attributes:
        host: Interface to bind (loopback by default: put a proxy in front to expose it).
        port: TCP port.
        model_poll_seconds: How often the registry is asked where the aliases point.
        shadow: Also score with ``@challenger`` (when it exists and differs from the champion).
        log_batch_rows: The request log is written once this many rows are waiting...
        log_flush_seconds: ...or this long after the oldest waiting row, whichever comes first.
        log_queue_rows: Rows the request log holds in memory at most; beyond it rows are
            dropped (and counted) rather than slowing requests down.
        log_requests: Whether to write the request log at all.
        max_batch_transactions: Transactions one ``POST /score/batch`` may hold at most (more:
            422). It bounds how long one batch holds the event loop.
        settings: The platform settings (locations, model name, decision threshold).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    model_poll_seconds: float = 30.0
    shadow: bool = True
    log_batch_rows: int = 500
    log_flush_seconds: float = 5.0
    log_queue_rows: int = 100_000
    log_requests: bool = True
    max_batch_transactions: int = 1000
    settings: Settings = field(default_factory=Settings.from_env)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, settings: Settings | None = None
    ) -> "ServingConfig":
        """Read ``ML_PLATFORM_SERVING_<FIELD>`` for every field; unset or empty keeps the default.

        Args:
            environ: Variables to read (default ``os.environ``).
            settings: Platform settings (default ``Settings.from_env()``).

        Raises:
            ValueError: If a variable does not parse as its field's type.
        """
        env = os.environ if environ is None else environ
        defaults = cls(settings=settings or Settings.from_env())
        values: dict[str, object] = {}
        for name in (
            "host",
            "port",
            "model_poll_seconds",
            "shadow",
            "log_batch_rows",
            "log_flush_seconds",
            "log_queue_rows",
            "log_requests",
            "max_batch_transactions",
        ):
            raw = env.get(ENV_PREFIX + name.upper(), "").strip()
            if raw:
                values[name] = _parse(name, raw, getattr(defaults, name))
        config = cls(settings=defaults.settings, **values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        """Reject values the service cannot run with.

        Raises:
            ValueError: On a non-positive interval, batch, queue or request batch size, or a
                bad port.
        """
        if not 0 <= self.port <= 65535:
            raise ValueError(f"{ENV_PREFIX}PORT={self.port}: expected 0-65535")
        positive = (
            "model_poll_seconds",
            "log_batch_rows",
            "log_flush_seconds",
            "log_queue_rows",
            "max_batch_transactions",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be > 0")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(name: str, raw: str, default: object) -> object:
    variable = ENV_PREFIX + name.upper()
    if isinstance(default, bool):
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ValueError(f"{variable}={raw!r}: expected true/false")
    try:
        return type(default)(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r}: expected {type(default).__name__}") from None
