"""The real service process against a tiny trained world: scoring, parity with batch scoring,
validation, defaults, shadow mode, the alias switch, the request log, health and metrics.

The tests of this module share one service process and run in file order; the alias-switch
test puts the champion back before it ends.
"""

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable
from prometheus_client.parser import text_string_to_metric_families

from ml_platform.cli import main as cli
from ml_platform.lib.features.catalog import CUSTOMER_FEATURES, MERCHANT_FEATURES
from ml_platform.lib.ingestion.sources import TRANSACTIONS
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.training.matrix import MODEL_FEATURES, model_vector
from ml_platform.lib.training.registry import model_aliases
from ml_platform.serving.config import REQUEST_LOG_TABLE
from ml_platform.serving.request_log import LOG_SCHEMA
from ml_platform_tests.test_serving.conftest import (
    SCORED_DAY,
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


@pytest.fixture(scope="module")
def service(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        world,
        tmp_path_factory.mktemp("serve"),
        model_poll_seconds="0.3",
        shadow="true",
        log_batch_rows="50",
        log_flush_seconds="0.3",
    )
    yield running
    assert running.stop(), running.output()


def test_score_returns_the_decision_the_model_version_and_the_features(
    service: Service, scored_day: pl.DataFrame
) -> None:
    response = service.score(known_transaction(scored_day))
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0.0 <= body["score"] <= 1.0
    assert body["flagged"] is (body["score"] >= body["threshold"])
    assert body["threshold"] == 0.5
    assert body["model_version"] == "1"
    assert list(body["features"]) == list(MODEL_FEATURES)
    assert body["defaults_used"] == []
    stamps = {k: dt.datetime.fromisoformat(v) for k, v in body["feature_timestamps"].items()}
    assert stamps == {"customer": SNAPSHOT_STAMP, "merchant": SNAPSHOT_STAMP}
    timing = body["timing"]
    assert 0 < timing["features_ms"] < timing["total_ms"]
    assert timing["model_ms"] > 0


def test_online_scores_equal_batch_scores(service: Service, scored_day: pl.DataFrame) -> None:
    """Every transaction of day DL, scored online, gets its batch score and features.

    Batch scoring of day D joins point-in-time with the snapshot of D-1 (stamped at the start
    of D); the online store holds the newest materialized snapshot. The world builds features
    up to DL-1 only, so the online store holds exactly the snapshot batch scoring used for
    DL's transactions (entities without one get missing values in both). Any other day would
    compare different snapshots.
    """
    assert scored_day.height > 100
    mismatched = []
    for row in scored_day.iter_rows(named=True):
        body = service.score(transaction_body(row)).json()
        assert body["model_version"] == row["model_version"] == "1"
        if not same_value(body["score"], row["score"]) or body["flagged"] != row["flagged"]:
            mismatched.append((row["transaction_id"], body["score"], row["score"]))
        different = [n for n in MODEL_FEATURES if not same_value(body["features"][n], row[n])]
        assert not different, (row["transaction_id"], different)
    assert not mismatched, mismatched[:5]
    # Most rows have snapshots: the comparison is not one of defaults only.
    assert scored_day.get_column("tx_count_30d").null_count() < scored_day.height / 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", -5),
        ("amount", "twelve"),
        ("channel", "web"),
        ("country", "usa"),
        ("event_timestamp", "2026-01-24T10:00:00"),  # no time zone
        ("customer_id", "abc"),
        ("transaction_id", ""),
        ("merchant_id", None),  # missing
        ("surprise", 1),  # not in the landing schema
    ],
)
def test_an_invalid_request_gets_a_422_naming_the_field(
    service: Service, scored_day: pl.DataFrame, field: str, value: Any
) -> None:
    body = known_transaction(scored_day)
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = service.score(body)
    assert response.status_code == 422
    located = [error["loc"][-1] for error in response.json()["detail"]]
    assert located == [field]


def test_unknown_entities_score_from_the_documented_defaults(
    service: Service, world: World, scored_day: pl.DataFrame
) -> None:
    champion = world.booster("1")
    body = {**known_transaction(scored_day), "customer_id": 10**9}
    response = service.score(body).json()
    assert response["defaults_used"] == ["customer"]
    assert response["feature_timestamps"]["customer"] is None
    customer = [f.name for f in CUSTOMER_FEATURES if f.name in MODEL_FEATURES]
    assert all(response["features"][n] is None for n in customer)
    assert response["features"]["merchant_tx_count_30d"] is not None
    assert response["features"]["is_foreign"] == 0  # home country unknown
    expected = champion.predict(model_vector(response["features"]))[0]
    assert response["score"] == pytest.approx(expected, abs=1e-12)

    both = service.score({**body, "merchant_id": 10**9}).json()
    assert both["defaults_used"] == ["customer", "merchant"]
    assert all(both["features"][f.name] is None for f in MERCHANT_FEATURES)


def test_a_snapshot_older_than_the_ttl_counts_as_missing(
    service: Service, scored_day: pl.DataFrame
) -> None:
    later = (SNAPSHOT_STAMP + dt.timedelta(days=2, hours=1)).isoformat()
    response = service.score({**known_transaction(scored_day), "event_timestamp": later}).json()
    assert response["defaults_used"] == ["customer", "merchant"]


def test_shadow_mode_scores_with_the_challenger_and_never_changes_the_decision(
    service: Service, world: World, scored_day: pl.DataFrame
) -> None:
    row = scored_day.sort("score", descending=True).row(0, named=True)  # the likeliest fraud
    body = service.score(transaction_body(row)).json()
    assert body["model_version"] == "1"
    assert body["score"] == pytest.approx(row["score"], abs=1e-12)
    assert body["flagged"] is (body["score"] >= 0.5)
    shadow = body["shadow"]
    assert shadow["model_version"] == world.challenger
    expected = world.booster(world.challenger).predict(model_vector(body["features"]))[0]
    assert shadow["score"] == pytest.approx(expected, abs=1e-12)
    assert shadow["score"] != pytest.approx(body["score"], abs=1e-9)  # a different model


def _scored_by(service: Service, transaction: dict, version: str) -> dict | None:
    body = service.score(transaction).json()
    return body if body["model_version"] == version else None


def test_the_champion_switches_without_a_restart_and_rolls_back(
    service: Service, world: World, scored_day: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in world.env().items():
        if key.startswith("ML_PLATFORM_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    transaction = known_transaction(scored_day)
    before = service.score(transaction).json()
    pid = service.process.pid
    challenger = world.booster(world.challenger)
    try:
        assert cli(["promote", "--version", world.challenger]) == 0
        switched = wait_for(lambda: _scored_by(service, transaction, world.challenger))
        expected = challenger.predict(model_vector(switched["features"]))[0]
        assert switched["score"] == pytest.approx(expected, abs=1e-12)
        assert switched["shadow"] is None  # the challenger is the champion now
        assert service.client.get("/health").json()["model_version"] == world.challenger
    finally:
        assert cli(["promote", "--version", "1"]) == 0  # the rollback one-liner
    back = wait_for(lambda: _scored_by(service, transaction, "1"))
    assert back["score"] == before["score"]
    assert back["shadow"]["model_version"] == world.challenger
    assert service.process.pid == pid and service.process.poll() is None
    assert model_aliases(world.tracking(), world.settings.model_name)["champion"] == "1"


def test_an_unknown_version_is_refused_by_promote(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in world.env().items():
        if key.startswith("ML_PLATFORM_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert cli(["promote", "--version", "99"]) == 2
    assert model_aliases(world.tracking(), world.settings.model_name)["champion"] == "1"


def test_every_scored_request_lands_in_the_delta_request_log(
    service: Service, world: World, scored_day: pl.DataFrame
) -> None:
    rows = scored_day.head(7).iter_rows(named=True)
    bodies = [{**transaction_body(r), "transaction_id": f"log-{i}"} for i, r in enumerate(rows)]
    responses = {b["transaction_id"]: service.score(b).json() for b in bodies}
    wait_for(lambda: logged_rows(world, set(responses)).height == 7)
    logged = logged_rows(world, set(responses))
    assert logged.schema == LOG_SCHEMA
    for row in logged.iter_rows(named=True):
        response = responses[row["transaction_id"]]
        assert row["score"] == response["score"]
        assert row["model_version"] == "1"
        assert row["shadow_model_version"] == world.challenger
        assert row["shadow_score"] == response["shadow"]["score"]
        assert row["event_date"] == SCORED_DAY
        assert row["latency_ms"] > 0
        assert all(same_value(row[n], response["features"][n]) for n in MODEL_FEATURES)
    table = DeltaTable(DeltaLake(world.settings.lake_uri).uri(REQUEST_LOG_TABLE))
    assert table.metadata().partition_columns == ["event_date"]


def test_health_reports_the_model_the_store_and_feature_freshness(service: Service) -> None:
    response = service.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["model_version"] == "1"
    assert body["online_store_reachable"] is True
    newest = dt.datetime.fromisoformat(body["newest_feature_timestamp"])
    assert newest == SNAPSHOT_STAMP
    age = (dt.datetime.now(dt.UTC) - newest).total_seconds()
    assert body["feature_age_seconds"] == pytest.approx(age, abs=60)


def test_metrics_count_requests_errors_latency_and_the_model_version(
    service: Service, scored_day: pl.DataFrame
) -> None:
    service.score(known_transaction(scored_day))
    service.score({**known_transaction(scored_day), "amount": 0})
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    scored = samples[("ml_platform_serving_requests_total", (("outcome", "scored"),))]
    assert scored >= scored_day.height
    assert samples[("ml_platform_serving_requests_total", (("outcome", "invalid"),))] >= 10
    assert samples[("ml_platform_serving_model_version", (("alias", "champion"),))] == 1.0
    count = samples[("ml_platform_serving_request_latency_seconds_count", (("path", "/score"),))]
    assert count >= scored
    fast = samples[
        ("ml_platform_serving_phase_latency_seconds_bucket", (("le", "0.1"), ("phase", "model")))
    ]
    assert fast >= scored * 0.99
    assert samples[("ml_platform_serving_model_swaps_total", ())] >= 3  # start, switch, back
    assert not any(name.endswith("_created") for name, _ in samples)


def test_the_openapi_schema_describes_the_transaction(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    assert {"/score", "/health", "/metrics"} <= set(schema["paths"])
    transaction = schema["components"]["schemas"]["Transaction"]
    assert set(transaction["required"]) == set(TRANSACTIONS.column_names)  # the landing contract


def test_shutdown_writes_the_waiting_request_log_rows(
    world: World, scored_day: pl.DataFrame, tmp_path: Path
) -> None:
    quiet = start_service(
        world, tmp_path, shadow="false", log_batch_rows="100000", log_flush_seconds="3600"
    )
    ids = {f"shutdown-{i}" for i in range(3)}
    for transaction_id in ids:
        assert quiet.score(
            {**known_transaction(scored_day), "transaction_id": transaction_id}
        ).is_success
    assert quiet.client.get("/health").json()["request_log_pending"] == 3
    assert logged_rows(world, ids).height == 0  # waiting in memory: batch and interval not reached
    assert quiet.stop(), quiet.output()
    logged = logged_rows(world, ids)
    assert set(logged.get_column("transaction_id")) == ids
    assert logged.get_column("shadow_score").null_count() == 3  # shadow mode off
    age = dt.datetime.now(dt.UTC) - logged.get_column("scored_at").min()
    assert dt.timedelta(0) < age < dt.timedelta(minutes=5)


def test_online_drift_is_visible_and_agrees_with_the_batch_drift_of_the_day(
    world: World, scored_day: pl.DataFrame
) -> None:
    # By now the request log holds every transaction of the day (the parity test scored them
    # all) plus a few made-up requests: its drift is the batch drift of the day, within noise.
    import dagster as dg

    from ml_platform.defs.monitoring.drift_assets import (
        DRIFT_TABLE,
        ONLINE_DRIFT_TABLE,
        feature_drift_report,
        online_drift_report,
    )
    from ml_platform.defs.resources import PlatformResource

    platform = PlatformResource.from_settings(world.settings)
    day = SCORED_DAY.isoformat()
    for asset in (feature_drift_report, online_drift_report):
        result = dg.materialize([asset], partition_key=day, resources={"platform": platform})
        assert result.success
    lake = DeltaLake(world.settings.lake_uri)
    batch_drift = lake.read(DRIFT_TABLE).filter(pl.col("event_date") == SCORED_DAY)
    online = lake.read(ONLINE_DRIFT_TABLE).filter(pl.col("event_date") == SCORED_DAY)
    assert online.height == batch_drift.height > 40  # every model feature and the score
    assert online.get_column("rows").min() >= scored_day.height
    both = online.join(batch_drift, on="feature", suffix="_batch")
    assert (both["psi"] - both["psi_batch"]).abs().max() < 0.05
    report = Path(world.settings.reports_dir) / "online_drift" / f"{day}.html"
    assert "Online drift report" in report.read_text()

    # A day without online traffic is recorded as empty, not as a failure, and said at INFO
    # (expected without a service; `make demo` shows only warnings).
    quiet_day = (SCORED_DAY - dt.timedelta(days=3)).isoformat()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [online_drift_report],
            partition_key=quiet_day,
            resources={"platform": platform},
            instance=instance,
        )
        said = [
            entry.level
            for entry in instance.all_logs(result.run_id)
            if "no online-scored requests" in (entry.user_message or "")
        ]
    assert result.success
    assert said == [logging.INFO]
    materialization = result.asset_materializations_for_node(online_drift_report.op.name)[0]
    assert materialization.metadata["days"].value == 0
