"""The HTTP layer on fake components: status codes, error counting, degraded health."""

import datetime as dt
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ml_platform.serving import app as app_module
from ml_platform.serving.app import Service, health_report
from ml_platform.serving.config import ServingConfig
from ml_platform.serving.scorer import ModelUnavailableError
from ml_platform.settings import Settings

with warnings.catch_warnings():
    # starlette 1.x's TestClient still runs on httpx and says so on import; not ours to change.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

BODY = {
    "transaction_id": "t-1",
    "customer_id": 1,
    "merchant_id": 2,
    "amount": 10.5,
    "merchant_category": "grocery",
    "channel": "pos",
    "country": "US",
    "event_timestamp": "2026-01-02T10:00:00Z",
}
NEWEST = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


class Features:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def newest_online_timestamp(self) -> dt.datetime:
        if self.fail:
            raise OSError("unable to open database file")
        return NEWEST


def _service(
    score: Any, features: Features | None = None, pair: Any = "loaded", score_many: Any = None
) -> Any:
    if pair == "loaded":
        champion = SimpleNamespace(version="3")
        pair = SimpleNamespace(champion=champion, challenger=None, checked_at=NEWEST)
    return SimpleNamespace(
        scorer=SimpleNamespace(score=score, score_many=score_many),
        features=features or Features(),
        models=SimpleNamespace(current=pair),
        request_log=None,
        stop=lambda: None,
    )


@pytest.fixture
def client_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    def make(service: Any) -> TestClient:
        monkeypatch.setattr(app_module, "start_service", lambda config, telemetry: service)
        config = ServingConfig(max_batch_transactions=3, settings=Settings.under(tmp_path))
        return TestClient(app_module.create_app(config))

    return make


def _counts(client: TestClient, metric: str = "requests") -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        s.labels["outcome"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == f"ml_platform_serving_{metric}_total"
    }


def _since_now(client: TestClient, metric: str = "requests") -> Any:
    """A reader of the counts added from now on, by outcome.

    Counts, not totals: importing Feast sets ``PROMETHEUS_MULTIPROCESS_DIR``, so
    prometheus_client keeps values in per-process files by metric name, and every app (every
    ``Telemetry``) of this test process adds to the same values.
    """
    before = _counts(client, metric)
    return lambda: {k: v - before[k] for k, v in _counts(client, metric).items()}


def test_no_model_is_a_503_and_a_crash_is_a_500_both_counted(client_for: Any) -> None:
    def unavailable(transaction: Any) -> dict:
        raise ModelUnavailableError("no champion loaded")

    with client_for(_service(unavailable)) as client:
        counts = _since_now(client)
        response = client.post("/score", json=BODY)
        assert response.status_code == 503 and "no champion" in response.json()["detail"]
        assert counts()["unavailable"] == 1

    def broken(transaction: Any) -> dict:
        raise KeyError("boom")

    with client_for(_service(broken)) as client:
        counts = _since_now(client)
        response = client.post("/score", json=BODY)
        assert response.status_code == 500
        assert response.json()["detail"] == "scoring failed: KeyError"
        assert client.post("/score", json={**BODY, "amount": "x"}).status_code == 422
        added = counts()
        assert (added["error"], added["invalid"], added["scored"]) == (1, 1, 0)


def test_a_failed_batch_is_a_503_or_500_counted_per_transaction_and_per_batch(
    client_for: Any,
) -> None:
    def unavailable(transactions: Any) -> list:
        raise ModelUnavailableError("no champion loaded")

    batch = {"transactions": [BODY, {**BODY, "transaction_id": "t-2"}]}
    with client_for(_service(None, score_many=unavailable)) as client:
        counts, batches = _since_now(client), _since_now(client, "batches")
        response = client.post("/score/batch", json=batch)
        assert response.status_code == 503 and "no champion" in response.json()["detail"]
        assert (counts()["unavailable"], batches()["unavailable"]) == (2, 1)

    def broken(transactions: Any) -> list:
        raise KeyError("boom")

    with client_for(_service(None, score_many=broken)) as client:
        counts, batches = _since_now(client), _since_now(client, "batches")
        response = client.post("/score/batch", json=batch)
        assert response.status_code == 500
        assert response.json()["detail"] == "scoring failed: KeyError"
        assert (counts()["error"], counts()["scored"], batches()["error"]) == (2, 0, 1)


def test_an_invalid_batch_is_one_invalid_request_without_the_list_echoed(
    client_for: Any,
) -> None:
    with client_for(_service(None, score_many=lambda transactions: [])) as client:
        counts, batches = _since_now(client), _since_now(client, "batches")
        response = client.post("/score/batch", json={"transactions": [BODY] * 4})  # limit 3
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "transactions"] and error["type"] == "too_long"
        assert "at most 3 items" in error["msg"] and "input" not in error
        assert client.post("/score", json={**BODY, "amount": 0}).status_code == 422
        assert (counts()["invalid"], batches()["invalid"]) == (2, 1)


def test_health_is_degraded_when_the_online_store_is_unreachable() -> None:
    report = health_report(_service(None, Features(fail=True)))  # type: ignore[arg-type]
    assert report.status == "degraded" and report.online_store_reachable is False
    assert report.model_version == "3" and report.feature_age_seconds is None


def test_health_is_degraded_without_a_model_and_answers_503(client_for: Any) -> None:
    assert health_report(_service(None, pair=None)).status == "degraded"  # type: ignore[arg-type]
    with client_for(_service(None, pair=None)) as client:
        response = client.get("/health")
        assert response.status_code == 503 and response.json()["model_version"] is None


def test_health_reports_feature_age_from_the_newest_online_row() -> None:
    report = health_report(_service(None))  # type: ignore[arg-type]
    assert report.status == "ok" and report.newest_feature_timestamp == NEWEST
    expected = (dt.datetime.now(dt.UTC) - NEWEST).total_seconds()
    assert report.feature_age_seconds == pytest.approx(expected, abs=5)


def test_service_stop_stops_polling_and_flushes_the_log() -> None:
    calls: list[str] = []
    service = Service(
        config=None,  # type: ignore[arg-type]
        telemetry=None,  # type: ignore[arg-type]
        features=None,  # type: ignore[arg-type]
        models=SimpleNamespace(stop=lambda: calls.append("models")),  # type: ignore[arg-type]
        request_log=SimpleNamespace(close=lambda: calls.append("log")),  # type: ignore[arg-type]
        scorer=None,  # type: ignore[arg-type]
    )
    service.stop()
    assert calls == ["models", "log"]
