"""Batch scoring against a tiny trained world: ``OnlineFeatures.lookup_many`` on the real online
store, and ``POST /score/batch`` of the real service: the same answers as ``/score``, in
order, every transaction logged and counted, the size limit.

The tests of this module share one service process (limit ``LIMIT``, shadow mode on).
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ml_platform.lib.feature_store.online_store import project_online_store
from ml_platform.lib.feature_store.store import feature_store
from ml_platform.lib.features.catalog import CUSTOMER_FEATURES
from ml_platform.lib.training.matrix import MODEL_FEATURES
from ml_platform.serving.features import OnlineFeatures, TransactionInput
from ml_platform.serving.request_log import LOG_SCHEMA
from ml_platform_tests.test_serving.conftest import (
    SNAPSHOT_STAMP,
    Service,
    World,
    known_transaction,
    logged_rows,
    same_value,
    start_service,
    transaction_body,
    wait_for,
)

pytestmark = pytest.mark.e2e
LIMIT = 40
UNKNOWN = 10**9


@pytest.fixture(scope="module")
def service(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        world,
        tmp_path_factory.mktemp("serve_batch"),
        shadow="true",
        log_batch_rows="50",
        log_flush_seconds="0.3",
        max_batch_transactions=str(LIMIT),
    )
    yield running
    assert running.stop(), running.output()


def _post(service: Service, transactions: list[dict[str, Any]]) -> httpx.Response:
    return service.client.post("/score/batch", json={"transactions": transactions})


def _decision(body: dict[str, Any]) -> dict[str, Any]:
    """A ScoreResponse without its timing (a batch reports the batch's)."""
    return {k: v for k, v in body.items() if k != "timing"}


def _special(scored_day: pl.DataFrame) -> list[dict[str, Any]]:
    """Unknown entities, an expired snapshot, a repeated transaction and a repeated entity."""
    known = known_transaction(scored_day)
    expired = (SNAPSHOT_STAMP + dt.timedelta(days=2, hours=1)).isoformat()
    return [
        {**known, "transaction_id": "unknown-customer", "customer_id": UNKNOWN},
        {**known, "transaction_id": "unknown-both", "customer_id": UNKNOWN, "merchant_id": UNKNOWN},
        {**known, "transaction_id": "expired", "event_timestamp": expired},
        known,
        {**known, "transaction_id": "same-customer", "amount": known["amount"] * 3},
        known,  # the same transaction twice in one batch
    ]


def _metrics(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = service.client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_lookup_many_on_the_online_store_equals_one_lookup_each_and_feasts_read(
    world: World, scored_day: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = feature_store(world.settings)
    features = OnlineFeatures(store)
    transactions = [
        TransactionInput(*(r[k] for k in TransactionInput._fields))
        for r in scored_day.head(30).iter_rows(named=True)
    ]
    first = transactions[0]
    transactions += [
        first._replace(customer_id=UNKNOWN),
        first._replace(merchant_id=UNKNOWN),
        first._replace(event_timestamp=SNAPSHOT_STAMP + dt.timedelta(days=3)),
        first,
    ]
    online = project_online_store(store)
    assert online is not None
    reads: list[int] = []
    read_rows = online.read_rows

    def counted(config: Any, view: Any, keys: Any, names: Any) -> Any:
        reads.append(len(keys))
        return read_rows(config, view, keys, names)

    def not_called(**_: Any) -> Any:
        raise AssertionError("the project's store is read directly, not through Feast")

    monkeypatch.setattr(online, "read_rows", counted)
    monkeypatch.setattr(store, "get_online_features", not_called)
    many = features.lookup_many(transactions)
    assert reads == [len(transactions)] * 2  # one read per feature view for all of them
    one_by_one = [features.lookup(*t) for t in transactions]
    assert many == one_by_one
    monkeypatch.undo()
    assert OnlineFeatures(store, through_feast=True).lookup_many(transactions) == many
    assert [f.defaults_used for f in many[-4:]] == [
        ["customer"],
        ["merchant"],
        ["customer", "merchant"],
        [],
    ]
    assert many[0].snapshot_timestamps["merchant"] == SNAPSHOT_STAMP
    assert sum(1 for f in many if not f.defaults_used) > len(many) / 2  # mostly real snapshots


def test_a_batch_answers_each_transaction_as_score_does_in_order(
    service: Service, scored_day: pl.DataFrame
) -> None:
    day = [transaction_body(r) for r in scored_day.iter_rows(named=True)]
    bodies = _special(scored_day) + day
    batches = [bodies[i : i + LIMIT] for i in range(0, len(bodies), LIMIT)]
    assert len(batches) > 3
    answered: list[dict[str, Any]] = []
    for batch in batches:
        response = _post(service, batch)
        assert response.status_code == 200, response.text
        answered += response.json()["scores"]
    assert [a["transaction_id"] for a in answered] == [b["transaction_id"] for b in bodies]
    singles = [service.score(body).json() for body in bodies]
    different = [
        body["transaction_id"]
        for body, one, many in zip(bodies, singles, answered, strict=True)
        if _decision(one) != _decision(many)
    ]
    assert not different, different[:5]
    assert all(a["shadow"] is not None for a in answered)  # shadow scores compared too
    special = answered[:6]
    assert [a["defaults_used"] for a in special] == [
        ["customer"],
        ["customer", "merchant"],
        ["customer", "merchant"],
        [],
        [],
        [],
    ]
    assert special[1]["feature_timestamps"] == {"customer": None, "merchant": None}
    assert _decision(special[3]) == _decision(special[5])  # the repeated transaction
    same_customer = [f.name for f in CUSTOMER_FEATURES if f.name in MODEL_FEATURES]
    assert all(special[4]["features"][n] == special[3]["features"][n] for n in same_customer)
    assert special[4]["features"]["amount"] == 3 * special[3]["features"]["amount"]
    # And as batch scoring scored the day (same snapshot: see test_service).
    for row, online in zip(scored_day.iter_rows(named=True), answered[6:], strict=True):
        assert same_value(online["score"], row["score"]), row["transaction_id"]


def test_a_batch_of_the_limit_is_scored_and_more_or_none_is_a_422(
    service: Service, scored_day: pl.DataFrame
) -> None:
    # Transactions of the day (new ids): the request log keeps the day's distribution.
    rows = scored_day.head(LIMIT + 1).iter_rows(named=True)
    bodies = [{**transaction_body(r), "transaction_id": f"limit-{i}"} for i, r in enumerate(rows)]
    response = _post(service, bodies[:LIMIT])
    assert response.status_code == 200
    assert len(response.json()["scores"]) == LIMIT

    too_many = _post(service, bodies)
    assert too_many.status_code == 422
    [error] = too_many.json()["detail"]
    assert error["loc"] == ["body", "transactions"]
    assert f"at most {LIMIT} items" in error["msg"] and f"not {LIMIT + 1}" in error["msg"]
    assert "input" not in error  # the list is not echoed back

    empty = _post(service, [])
    assert empty.status_code == 422
    [error] = empty.json()["detail"]
    assert error["loc"] == ["body", "transactions"] and "at least 1 item" in error["msg"]

    bare = service.client.post("/score/batch", json=bodies[:1])  # not wrapped in an object
    assert bare.status_code == 422


def test_an_invalid_transaction_is_named_by_its_index_and_nothing_is_scored(
    service: Service, scored_day: pl.DataFrame
) -> None:
    before = _metrics(service)
    body = known_transaction(scored_day)
    batch = [{**body, "transaction_id": f"index-{i}"} for i in range(5)]
    batch[3]["amount"] = -5
    del batch[1]["channel"]
    response = _post(service, batch)
    assert response.status_code == 422
    located = [error["loc"] for error in response.json()["detail"]]
    assert located == [
        ["body", "transactions", 1, "channel"],
        ["body", "transactions", 3, "amount"],
    ]
    after = _metrics(service)
    scored = ("ml_platform_serving_requests_total", (("outcome", "scored"),))
    invalid = ("ml_platform_serving_requests_total", (("outcome", "invalid"),))
    assert after[scored] == before[scored]
    assert after[invalid] == before[invalid] + 1  # one rejected request


def test_every_transaction_of_a_batch_lands_in_the_request_log(
    service: Service, world: World, scored_day: pl.DataFrame
) -> None:
    rows = scored_day.tail(11).iter_rows(named=True)
    bodies = [
        {**transaction_body(r), "transaction_id": f"batch-log-{i}"} for i, r in enumerate(rows)
    ]
    bodies.append({**bodies[0], "transaction_id": "batch-log-unknown", "customer_id": UNKNOWN})
    answered = {a["transaction_id"]: a for a in _post(service, bodies).json()["scores"]}
    ids = {b["transaction_id"] for b in bodies}
    wait_for(lambda: logged_rows(world, ids).height == len(bodies))
    logged = logged_rows(world, ids)
    assert logged.schema == LOG_SCHEMA
    for row in logged.iter_rows(named=True):
        answer = answered[row["transaction_id"]]
        assert row["score"] == answer["score"] and row["flagged"] == answer["flagged"]
        assert row["shadow_score"] == answer["shadow"]["score"]
        assert row["defaults_used"] == answer["defaults_used"]
        assert row["latency_ms"] == pytest.approx(answer["timing"]["total_ms"])
        assert row["latency_ms"] > 0
    assert logged.filter(pl.col("transaction_id") == "batch-log-unknown")[
        "defaults_used"
    ].to_list() == [["customer"]]


def test_metrics_count_every_transaction_of_a_batch_once(
    service: Service, scored_day: pl.DataFrame
) -> None:
    likeliest = scored_day.sort("score", descending=True).head(8).iter_rows(named=True)
    bodies = [transaction_body(r) for r in likeliest]
    bodies += [{**bodies[0], "transaction_id": "metrics-unknown", "customer_id": UNKNOWN}]
    before = _metrics(service)
    answered = _post(service, bodies).json()["scores"]
    after = _metrics(service)

    def added(name: str, **labels: str) -> float:
        key = (f"ml_platform_serving_{name}", tuple(sorted(labels.items())))
        return after[key] - before[key]

    n = len(bodies)
    assert added("requests_total", outcome="scored") == n
    assert added("flagged_total") == sum(a["flagged"] for a in answered)
    disagreements = sum(a["shadow"]["flagged"] != a["flagged"] for a in answered)
    assert added("shadow_disagreements_total") == disagreements
    assert added("defaults_total", entity="customer") == 1
    assert added("batches_total", outcome="scored") == 1
    assert (added("batch_size_count"), added("batch_size_sum")) == (1, n)
    assert added("batch_phase_latency_seconds_count", phase="handler") == 1
    assert added("batch_phase_latency_seconds_count", phase="shadow") == 1
    assert added("request_latency_seconds_count", path="/score/batch") == 1
    # The per-request histograms of /score are not fed by batches.
    assert added("phase_latency_seconds_count", phase="handler") == 0
    assert added("request_latency_seconds_count", path="/score") == 0

    before = _metrics(service)
    assert _post(service, []).status_code == 422
    after = _metrics(service)
    assert added("requests_total", outcome="invalid") == 1
    assert added("batches_total", outcome="invalid") == 1
    assert added("requests_total", outcome="scored") == 0


def test_the_openapi_schema_describes_the_batch_and_its_limit(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    assert "/score/batch" in schema["paths"]
    request = schema["components"]["schemas"]["BatchScoreRequest"]
    transactions = request["properties"]["transactions"]
    assert (transactions["minItems"], transactions["maxItems"]) == (1, LIMIT)
    assert transactions["items"] == {"$ref": "#/components/schemas/Transaction"}
