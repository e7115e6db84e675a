"""Run the service with uvicorn: ``ml-platform serve`` / ``make serve``.

One process, one event loop: scoring is ~1 ms of CPU per request under the GIL, so more
throughput comes from more processes behind a load balancer (each polls the registry and
writes its own request-log batches; Delta appends do not conflict), not from threads.
"""

import logging
import warnings

import uvicorn
from prometheus_client import disable_created_metrics

from ml_platform.serving.app import create_app
from ml_platform.serving.config import ServingConfig


def serve(config: ServingConfig) -> None:
    """Serve until SIGINT/SIGTERM; then the request log writes its last rows."""
    # Feast flags on-demand views "experimental"; ours are measured and tested.
    warnings.filterwarnings("ignore", message="On demand feature view is an experimental")
    warnings.filterwarnings("ignore", message="The ``noload`` loader strategy is deprecated")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    disable_created_metrics()  # the *_created series only add noise to a scrape
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        access_log=False,  # one line per request costs more than scoring; see /metrics
        log_level="info",
        timeout_graceful_shutdown=30,
    )
