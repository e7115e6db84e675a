"""Online scoring under load: the real service over HTTP on loopback, a fixed-rate async client.

``serving_prepare`` (untimed setup) trains a champion on the scale's lake (the first ten days'
matured transactions: enough for real trees, bounded at every scale), logs it to an MLflow
store under ``work/serving`` and registers a copy as ``challenger``, so shadow scoring is on,
as it would be in production.

``serving_load`` starts ``ml-platform serve`` against the scale's Feast online store (request
log into ``work/serving/lake``: the dataset stays untouched) and sends ``requests`` single
transactions at ``rate`` per second, open loop: request *i* leaves at ``start + i / rate``
whatever happened to the previous ones, over a pool of keep-alive connections, with a minimal
HTTP/1.1 client on asyncio streams (a full client library would spend the same two cores the
service needs). Latency is measured from writing the request to reading the whole response.
The service reports its own phases per request (``timing``: features, model, shadow,
handler) and, in ``/metrics``, the time inside the application per request; the shares below
are of the mean client latency:

* features: online store lookup + request-time features;
* model: champion + shadow challenger predictions;
* framework: the rest of the application (routing, validation, serialization, middleware),
  i.e. application time - handler time, plus the handler's own glue;
* transport: the client's latency minus the application time (HTTP parsing in uvicorn,
  event loops, the kernel's loopback, the client itself).
"""

import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.config import bench_settings
from benchmarks.harness import Case

UTC = dt.UTC
TRAIN_DAYS = 10
MATURITY_DAYS = 30


def _serving_dir(params: dict[str, Any]) -> Path:
    return Path(params["work"]) / "serving"


def _mlflow(params: dict[str, Any]) -> tuple[str, str]:
    folder = _serving_dir(params) / "mlflow"
    return f"sqlite:///{folder / 'mlflow.db'}", str(folder / "artifacts")


def serving_prepare(params: dict[str, Any]) -> Case:
    """Train, log and register a champion (and a challenger copy) for the load test."""
    from ml_platform.lib.feature_store.store import feature_repo
    from ml_platform.lib.lake.delta import DeltaLake
    from ml_platform.lib.training.dataset import build_training_set
    from ml_platform.lib.training.model import train_model
    from ml_platform.lib.training.registry import CHALLENGER, log_training, move_alias
    from ml_platform.lib.training.tracking import configure, using

    root = Path(params["root"])
    settings = bench_settings(root)
    first = dt.date.fromisoformat(params["first"])
    as_of = dt.datetime.combine(first + dt.timedelta(days=TRAIN_DAYS + MATURITY_DAYS), dt.time())

    def run() -> dict[str, Any]:
        lake = DeltaLake(settings.lake_uri)
        training = build_training_set(
            lake, feature_repo(settings), as_of.replace(tzinfo=UTC), MATURITY_DAYS
        )
        trained = train_model(training.split("train"), training.split("validation"), seed=42)
        tracking = configure(*_mlflow(params))
        logged = log_training(tracking, training, trained, settings.model_name)
        move_alias(tracking, settings.model_name, logged.version)
        client = tracking.client()
        source = client.get_model_version(settings.model_name, logged.version)
        with using(tracking):  # a models:/ source resolves through the fluent tracking URI
            copy = client.create_model_version(
                settings.model_name, source.source, run_id=source.run_id
            )
        client.set_registered_model_alias(settings.model_name, CHALLENGER, copy.version)
        return {
            "train_rows": training.frame.height,
            "trees": trained.best_iteration,
            "champion": logged.version,
            "challenger": str(copy.version),
        }

    return Case(run=run, finish=lambda info: info)


# --- the service process ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_service(params: dict[str, Any], port: int) -> subprocess.Popen:
    root = Path(params["root"])
    tracking_uri, artifacts = _mlflow(params)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ML_PLATFORM_", "MLFLOW_"))}
    env.update(
        {
            "ML_PLATFORM_DATA_DIR": str(root),
            "ML_PLATFORM_FEAST_DIR": str(root / "feast"),
            "ML_PLATFORM_LAKE_URI": str(_serving_dir(params) / "lake"),
            "MLFLOW_TRACKING_URI": tracking_uri,
            "ML_PLATFORM_MLFLOW_ARTIFACT_ROOT": artifacts,
            "ML_PLATFORM_SERVING_PORT": str(port),
        }
    )
    log = (_serving_dir(params) / "serve.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "ml_platform.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=_serving_dir(params),
    )


def _get(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _wait_healthy(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}: see serve.log")
        try:
            if _get(port, "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("service not healthy in time")


# --- a minimal keep-alive HTTP/1.1 client -----------------------------------------------------


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = dict(ln.lower().partition(":")[::2] for ln in lines[1:] if ln)
        length = int(fields["content-length"])
        return status, await self.reader.readexactly(length)


async def _load(
    port: int, bodies: list[bytes], rate: float, connections: int
) -> list[tuple[float, int, bytes]]:
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection("127.0.0.1", port)))
    results: list[tuple[float, int, bytes]] = [(0.0, 0, b"")] * len(bodies)
    lags = _LAGS
    lags[:] = [0.0] * len(bodies)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int, body: bytes) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        due = start + i / rate
        connection = await pool.get()
        lags[i] = loop.time() - due  # > 0: the client sent late (it must keep up)
        sent = time.perf_counter()
        status, answer = await connection.post("/score", body)
        results[i] = (time.perf_counter() - sent, status, answer)
        pool.put_nowait(connection)

    await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    while not pool.empty():
        pool.get_nowait().writer.close()
    return results


_LAGS: list[float] = []


def _transactions(params: dict[str, Any], count: int) -> list[bytes]:
    """Transactions of the day after the newest snapshot (so it is valid), 5 % unknown customers."""
    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY
    from ml_platform.lib.lake.delta import DeltaLake

    lake = DeltaLake(str(Path(params["root"]) / "lake"))
    last = dt.date.fromisoformat(params["last"])

    def ids(table: Any) -> list[int]:
        scan = lake.scan(table.name).filter(pl.col("feature_date") == last)
        return scan.select(table.join_key).collect().to_series().to_list()

    customers, merchants = ids(CUSTOMER_DAILY), ids(MERCHANT_DAILY)
    rng = random.Random(23)
    day = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    return [
        json.dumps(
            {
                "transaction_id": f"bench-{i}",
                "customer_id": rng.choice(customers) if rng.random() > 0.05 else 10**12 + i,
                "merchant_id": rng.choice(merchants),
                "amount": round(rng.uniform(1, 500), 2),
                "merchant_category": "grocery",
                "channel": rng.choice(["online", "pos", "atm"]),
                "country": rng.choice(["US", "US", "US", "GB", "DE"]),
                "event_timestamp": (day + dt.timedelta(seconds=rng.uniform(0, 86399))).isoformat(),
            }
        ).encode()
        for i in range(count)
    ]


def _app_seconds(port: int) -> tuple[float, float]:
    """Sum and count of the in-application time of /score requests, from /metrics."""
    _, body = _get(port, "/metrics")
    found = {}
    for line in body.decode().splitlines():
        for key in ("sum", "count"):
            prefix = f'ml_platform_serving_request_latency_seconds_{key}{{path="/score"}}'
            if line.startswith(prefix):
                found[key] = float(line.split()[-1])
    return found["sum"], found["count"]


def serving_load(params: dict[str, Any]) -> Case:
    """``requests`` transactions at ``rate``/s against the real service (after a warm-up)."""
    requests, rate = int(params["requests"]), float(params["rate"])
    connections = int(params.get("connections", 16))
    port = _free_port()
    process = _start_service(params, port)
    _wait_healthy(process, port)
    warm = _transactions(params, 300)
    asyncio.run(_load(port, warm, rate, connections))
    bodies = _transactions(params, requests)
    state: dict[str, Any] = {}

    def run() -> list[tuple[float, int, bytes]]:
        state["app_before"] = _app_seconds(port)
        started = time.perf_counter()
        results = asyncio.run(_load(port, bodies, rate, connections))
        state["wall"] = time.perf_counter() - started
        state["app_after"] = _app_seconds(port)
        return results

    def finish(results: list[tuple[float, int, bytes]]) -> dict[str, Any]:
        try:
            return _summary(results, state)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

    return Case(run=run, finish=finish)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _summary(results: list[tuple[float, int, bytes]], state: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(r[0] for r in results)
    ok = [json.loads(r[2]) for r in results if r[1] == 200]
    n = len(results)
    mean_ms = 1000 * sum(latencies) / n
    timing = {k: sum(b["timing"][k] for b in ok) / len(ok) for k in ok[0]["timing"]}
    app_sum = state["app_after"][0] - state["app_before"][0]
    app_count = state["app_after"][1] - state["app_before"][1]
    app_ms = 1000 * app_sum / app_count
    parts = {
        "features": timing["features_ms"],
        "model": timing["model_ms"] + timing["shadow_ms"],
        "framework": app_ms - timing["features_ms"] - timing["model_ms"] - timing["shadow_ms"],
        "transport": mean_ms - app_ms,
    }
    return {
        "requests": n,
        "errors": n - len(ok),
        "defaults_used": sum(1 for b in ok if b["defaults_used"]),
        "shadow_scored": sum(1 for b in ok if b["shadow"]),
        "p50": _quantile(latencies, 0.50),
        "p90": _quantile(latencies, 0.90),
        "p99": _quantile(latencies, 0.99),
        "max": latencies[-1],
        "handler_p99_ms": _quantile(sorted(b["timing"]["total_ms"] for b in ok), 0.99),
        "throughput": n / state["wall"],
        "max_send_lag_ms": 1000 * max(_LAGS),
        "mean_ms": mean_ms,
        "app_mean_ms": app_ms,
        "handler_mean_ms": timing["total_ms"],
        "mean_parts_ms": parts,
        "shares": {k: v / mean_ms for k, v in parts.items()},
    }
