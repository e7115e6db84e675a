"""The HTTP application (FastAPI): ``/score``, ``/score/batch``, ``/health``, ``/metrics``.

FastAPI because it derives the OpenAPI schema (``/openapi.json``, ``/docs``) and the 422
validation errors from the pydantic models in ``schemas.py``, runs on uvicorn (uvloop and
httptools when installed) and is already a dependency of Feast, so it adds nothing to install.

``/score`` is an ``async def`` that does its work inline: the work is ~1 ms of CPU (a SQLite
read of a cached page, a few hundred tree nodes), the GIL serializes it anyway, and a
thread-pool hop per request would cost about as much as the work. ``/score/batch`` does too:
one online read and one predict per model for all its transactions, a few milliseconds per
hundred, during which other requests wait (``max_batch_transactions`` bounds it). ``/health``
runs in the thread pool because its freshness query scans the online store (cached for 10 s).
"""

import datetime as dt
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_platform.lib.feature_store.store import feature_store
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.matrix import model_vector
from ml_platform.lib.training.tracking import configure
from ml_platform.serving.config import REQUEST_LOG_TABLE, ServingConfig
from ml_platform.serving.features import OnlineFeatures
from ml_platform.serving.models import ModelHolder, ModelPair
from ml_platform.serving.request_log import RequestLog
from ml_platform.serving.schemas import (
    BatchScoreResponse,
    HealthResponse,
    ScoreResponse,
    Transaction,
    batch_request_model,
)
from ml_platform.serving.scorer import ModelUnavailableError, Scorer
from ml_platform.serving.telemetry import CONTENT_TYPE, Telemetry

logger = logging.getLogger(__name__)
_PATHS = ("/score", "/score/batch", "/health", "/metrics")
_LIST_LENGTH_ERRORS = {"too_long", "too_short"}


@dataclass
class Service:
    """Everything a running service holds."""

    config: ServingConfig
    telemetry: Telemetry
    features: OnlineFeatures
    models: ModelHolder
    request_log: RequestLog | None
    scorer: Scorer

    def stop(self) -> None:
        """Stop polling and write the request log's last rows."""
        self.models.stop()
        if self.request_log is not None:
            self.request_log.close()


def start_service(config: ServingConfig, telemetry: Telemetry) -> Service:
    """Resolve the features, load the models, start the poller and the request log.

    Raises:
        NoChampionError: If the registry has no champion.
    """
    settings = config.settings
    features = OnlineFeatures(feature_store(settings))
    tracking = configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)

    def changed(pair: ModelPair) -> None:
        telemetry.model_swaps.inc()
        telemetry.model_version.labels("champion").set(float(pair.champion.version))
        challenger = float(pair.challenger.version) if pair.challenger else 0.0
        telemetry.model_version.labels("challenger").set(challenger)

    models = ModelHolder(
        tracking,
        settings.model_name,
        shadow=config.shadow,
        poll_seconds=config.model_poll_seconds,
        on_change=changed,
        on_error=lambda _: telemetry.model_poll_errors.inc(),
    )
    pair = models.start()
    features.warm_up()
    pair.champion.predict(model_vector(features.lookup(0, 0, 1.0, "US", "pos", _now()).values))
    request_log = None
    if config.log_requests:
        request_log = RequestLog(
            DeltaLake(settings.lake_uri),
            REQUEST_LOG_TABLE,
            batch_rows=config.log_batch_rows,
            flush_seconds=config.log_flush_seconds,
            max_rows=config.log_queue_rows,
            on_written=telemetry.log_rows.labels("written").inc,
            on_dropped=telemetry.log_rows.labels("dropped").inc,
            on_error=lambda _: telemetry.log_write_errors.inc(),
        )
        request_log.start()
        telemetry.track_pending(lambda: request_log.pending)
    scorer = Scorer(features, models, settings.decision_threshold, telemetry, request_log)
    return Service(config, telemetry, features, models, request_log, scorer)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Latency:
    """Pure ASGI middleware timing every request inside the application, per known path."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.histograms = {p: telemetry.latency.labels(p) for p in (*_PATHS, "other")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            path = scope["path"] if scope["path"] in _PATHS else "other"
            self.histograms[path].observe(time.perf_counter() - started)


def create_app(config: ServingConfig) -> FastAPI:
    """The service's application; models and features are loaded when it starts (lifespan)."""
    telemetry = Telemetry()
    BatchRequest = batch_request_model(config.max_batch_transactions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = start_service(config, telemetry)
        app.state.service = service
        # Everything loaded so far (Feast, MLflow, LightGBM, the models) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks ~10^6
        # objects in the middle of a request.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="ml-platform online scoring",
        summary="Scores card transactions with the champion fraud model, in milliseconds.",
        version="1",
        lifespan=lifespan,
    )
    app.add_middleware(_Latency, telemetry=telemetry)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        path = request.url.path
        if path in ("/score", "/score/batch"):
            telemetry.requests.labels("invalid").inc()
        if path == "/score/batch":
            telemetry.batches.labels("invalid").inc()
            # FastAPI's own 422 body, less the echo of an oversize list.
            errors = [_without_list_input(e) for e in error.errors()]
            return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
        return await request_validation_exception_handler(request, error)

    @app.post("/score", response_model=ScoreResponse, tags=["scoring"])
    async def score(transaction: Transaction, request: Request) -> dict:
        """Score one transaction: fraud probability, decision, model version, features used."""
        service: Service = request.app.state.service
        try:
            return service.scorer.score(transaction)
        except Exception as error:
            raise _failed(telemetry, error, transaction.transaction_id, 1, batch=False) from error

    @app.post("/score/batch", response_model=BatchScoreResponse, tags=["scoring"])
    async def score_batch(body: BatchRequest, request: Request) -> dict:  # type: ignore[valid-type]
        """Score up to `ML_PLATFORM_SERVING_MAX_BATCH_TRANSACTIONS` transactions in one request.

        One `ScoreResponse` per transaction, in request order, each as `/score` answers it
        (`timing` is the whole batch's). Every transaction is logged and counted as by `/score`.
        """
        service: Service = request.app.state.service
        transactions = body.transactions  # type: ignore[attr-defined]
        try:
            return {"scores": service.scorer.score_many(transactions)}
        except Exception as error:
            first = f"batch of {len(transactions)} from {transactions[0].transaction_id}"
            raise _failed(telemetry, error, first, len(transactions), batch=True) from error

    @app.get(
        "/health",
        response_model=HealthResponse,
        responses={503: {"model": HealthResponse}},
        tags=["operations"],
    )
    def health(request: Request) -> JSONResponse:
        """Champion loaded, online store reachable, age of the newest online feature row."""
        service: Service = request.app.state.service
        body = health_report(service)
        status = 200 if body.status == "ok" else 503
        return JSONResponse(body.model_dump(mode="json"), status_code=status)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: requests, latency histograms, errors, model versions."""
        return Response(telemetry.exposition(), media_type=CONTENT_TYPE)

    return app


def _failed(
    telemetry: Telemetry, error: Exception, what: str, transactions: int, batch: bool
) -> HTTPException:
    """The HTTP error for a failed scoring request (503 without a model, else 500), counted.

    Each transaction of the request counts under ``requests``; a batch also under ``batches``.
    """
    if isinstance(error, ModelUnavailableError):
        status, outcome, detail = 503, "unavailable", str(error)
    else:
        status, outcome, detail = 500, "error", f"scoring failed: {type(error).__name__}"
        logger.exception("scoring %s failed", what)
    telemetry.requests.labels(outcome).inc(transactions)
    if batch:
        telemetry.batches.labels(outcome).inc()
    return HTTPException(status, detail)


def _without_list_input(error: Any) -> Any:
    """A batch-length error without its ``input`` (the whole list, echoed back otherwise)."""
    if error.get("type") in _LIST_LENGTH_ERRORS and tuple(error.get("loc", ())) == (
        "body",
        "transactions",
    ):
        return {k: v for k, v in error.items() if k != "input"}
    return error


def health_report(service: Service) -> HealthResponse:
    """The service's health now (see ``HealthResponse``)."""
    pair = service.models.current
    try:
        newest = service.features.newest_online_timestamp()
        reachable = True
    except Exception as error:
        logger.warning("online store unreachable: %s", error)
        newest, reachable = None, False
    now = dt.datetime.now(dt.UTC)
    log = service.request_log
    return HealthResponse(
        status="ok" if pair is not None and reachable else "degraded",
        model_version=pair.champion.version if pair else None,
        shadow_model_version=pair.challenger.version if pair and pair.challenger else None,
        model_checked_at=pair.checked_at if pair else None,
        online_store_reachable=reachable,
        newest_feature_timestamp=newest,
        feature_age_seconds=(now - newest).total_seconds() if newest else None,
        request_log_pending=log.pending if log is not None else 0,
    )
