"""Online lookup through the scoring service's own path (``serving.features.OnlineFeatures``).

The service does not call Feast's on-demand view: ``OnlineFeatures.lookup_many`` reads the two
feature views for any number of transactions with one ``SELECT … IN (…)`` per view (on the
project's SQLite store, through its ``read_rows``: no protobufs), checks the TTL and computes
the request-time features with ``definitions.request_features``; ``lookup`` is ``lookup_many``
of one transaction. This case
times both in-process, prepared as ``start_service`` and the app's lifespan prepare it:
``warm_up()``, then ``gc.collect()`` and ``gc.freeze()``.

"1 entity" is one ``lookup`` (a ``POST /score``). "100 entities" is measured two ways on the
same transactions: one ``lookup_many`` of 100 (what a ``POST /score/batch`` of 100 does,
``p50_100_batch``/``p99_100_batch``), and 100 ``lookup`` calls one after the other (what 100
``/score`` requests cost, ``p50_100``/``p99_100``). Before timing, the batch answers are
checked equal to the one-by-one answers.

Diagnostics (``info``), to tell the code's time from the machine's: per call, the time the
thread waited on the run queue (``/proc/thread-self/schedstat``, read just outside the timed
interval) and so the time it was on a CPU; the garbage collections (by generation) during the
calls; and, for comparison, one bare Feast ``get_online_features`` of the same two views'
references for 100 entity rows (``feast_batch_100``: what the lookup cost when it read through
Feast).
"""

import datetime as dt
import gc
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.cases import _dates, _lake
from benchmarks.config import bench_settings
from benchmarks.harness import Case

UTC = dt.UTC
SIZES = (1, 100)  # entities per call; how many calls: the scale's ``lookup_calls``
BATCH = "100_batch"  # the suffix of the lookup_many figures
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _schedstat() -> Callable[[], int]:
    """A reader of the nanoseconds this thread has waited for a CPU (always 0 if unknown)."""
    try:
        fd = os.open(_SCHEDSTAT, os.O_RDONLY)
        int(os.pread(fd, 128, 0).split()[1])
    except (OSError, IndexError, ValueError):
        return lambda: 0
    return lambda: int(os.pread(fd, 128, 0).split()[1])


def _quantiles(values: list[float]) -> dict[str, float]:
    """``p50``, ``p99`` and ``max`` of ``values``."""
    ordered = sorted(values)
    at = {q: ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] for q in (50, 99)}
    return {"p50": at[50], "p99": at[99], "max": ordered[-1]}


def lookup_serving(params: dict[str, Any]) -> Case:
    """p50/p99 of ``lookup`` (1 transaction), 100 ``lookup`` calls and one ``lookup_many`` of 100.

    After warm-up and ``gc.freeze()``, as in the service.
    """
    from ml_platform.lib.feature_store.store import feature_store
    from ml_platform.lib.features.catalog import CUSTOMER_DAILY, MERCHANT_DAILY
    from ml_platform.serving.features import OnlineFeatures, TransactionInput

    lake = _lake(params)
    _, last = _dates(params)
    features = OnlineFeatures(feature_store(bench_settings(Path(params["root"]))))
    features.warm_up()

    def ids(table: Any) -> list[int]:
        scan = lake.scan(table.name).filter(pl.col("feature_date") == last)
        return scan.select(table.join_key).collect().to_series().to_list()

    customers, merchants = ids(CUSTOMER_DAILY), ids(MERCHANT_DAILY)
    rng = random.Random(11)
    day = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UTC)

    def transaction() -> TransactionInput:
        return TransactionInput(
            rng.choice(customers),
            rng.choice(merchants),
            round(rng.uniform(1, 500), 2),
            rng.choice(["US", "GB", "DE"]),
            rng.choice(["online", "pos", "atm"]),
            day + dt.timedelta(seconds=rng.uniform(0, 86399)),
        )

    counts = dict(zip(SIZES, params["calls"], strict=True))
    requests = {
        size: [[transaction() for _ in range(size)] for _ in range(count)]
        for size, count in counts.items()
    }
    for batch in requests[1][:100] + requests[100][:5]:  # warm-up: caches, first connection
        for row in batch:
            features.lookup(*row)
    for batch in requests[100][:5]:  # warm-up of the batch path, and its answers checked
        if features.lookup_many(batch) != [features.lookup(*row) for row in batch]:
            raise AssertionError("lookup_many differs from one lookup per transaction")
    gc.collect()
    gc.freeze()  # as the app's lifespan does once the service is loaded
    defaults: list[int] = [0]
    collections = {0: 0, 1: 0, 2: 0}

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections[info["generation"]] += 1

    def one_by_one(batch: list[TransactionInput]) -> list[Any]:
        return [features.lookup(*row) for row in batch]

    modes: list[tuple[int | str, list[list[TransactionInput]], Callable[..., list[Any]]]] = [
        (1, requests[1], one_by_one),
        (100, requests[100], one_by_one),
        (BATCH, requests[100], features.lookup_many),
    ]

    def run() -> dict[int | str, list[tuple[float, float]]]:
        latencies: dict[int | str, list[tuple[float, float]]] = {}
        _waited_ns = _schedstat()  # opened in the thread that reads it
        gc.callbacks.append(count)
        try:
            for key, batches, look_up in modes:
                spent = latencies.setdefault(key, [])
                for batch in batches:
                    waited = _waited_ns()
                    started = time.perf_counter()
                    found = look_up(batch)
                    elapsed = time.perf_counter() - started
                    spent.append((elapsed, (_waited_ns() - waited) / 1e9))
                    defaults[0] += sum(1 for f in found if f.defaults_used)
        finally:
            gc.callbacks.remove(count)
        return latencies

    def finish(latencies: dict[int | str, list[tuple[float, float]]]) -> dict[str, Any]:
        if defaults[0]:
            raise AssertionError(f"{defaults[0]} lookups of known entities fell back to defaults")
        out: dict[str, Any] = {"gc_collections": dict(collections)}
        for size, values in latencies.items():
            wall = _quantiles([elapsed for elapsed, _ in values])
            on_cpu = _quantiles([max(0.0, elapsed - waited) for elapsed, waited in values])
            out.update({f"{k}_{size}": v for k, v in wall.items()})
            out.update({f"cpu_{k}_{size}": v for k, v in on_cpu.items()})
            out[f"calls_{size}"] = len(values)
            out[f"waited_calls_{size}"] = sum(1 for _, w in values if w > 0.0005)
        out["feast_batch_100"] = _feast_batch(features, requests[100][:100])
        return out

    return Case(run=run, finish=finish)


def _feast_batch(features: Any, batches: list[list[tuple[Any, ...]]]) -> dict[str, float]:
    """p50/p99 of one ``get_online_features`` of the serving references for 100 entity rows."""
    spent = []
    for batch in batches:
        rows = [{"customer_id": row[0], "merchant_id": row[1]} for row in batch]
        started = time.perf_counter()
        features.store.get_online_features(features=features.references, entity_rows=rows)
        spent.append(time.perf_counter() - started)
    return _quantiles(spent)
