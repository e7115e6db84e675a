"""The platform as a system on the simulator's drift scenarios, day by day.

2,000-customer worlds: the champion is trained once the 30-day windows are complete, then
days are fed as the landing folder would receive them (ingested, featurized, scored,
monitored), with a retraining-sensor tick after each feed, exactly as the daemon would
evaluate it.

- ``amount_inflation``: 31 quiet days first (the no-drift control: days before the onset are
  identical to the ``none`` scenario with the same seed), then amounts inflate; the feature
  drift is caught within 3 days. The old champion copes with this shift (its relative
  features absorb most of it), so the gate rightly keeps it.
- ``new_fraud_pattern``: fraudsters switch to small domestic daytime purchases the champion
  never saw. The feature mix barely moves, so nothing can see it before labels mature; then
  the matured performance report shows the loss, a retrain is requested, and the new
  champion beats the old one on post-drift transactions it was not trained on (scored
  against the simulator's answer key, which the pipeline never reads).
"""

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ml_platform.lib.feature_store.store import feature_repo
from ml_platform.lib.lake.delta import DeltaLake
from ml_platform.lib.simulation import SimulationConfig
from ml_platform.lib.training.dataset import transaction_features
from ml_platform.lib.training.metrics import pr_auc, roc_auc
from ml_platform.lib.training.model import score
from ml_platform.lib.training.registry import load_model, model_aliases, recorded_lineage
from ml_platform.lib.training.tracking import configure
from ml_platform.playback import Playback
from ml_platform.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TRAIN_DAY, ONSET, DAYS = 52, 83, 87
CONFIG = SimulationConfig(
    days=DAYS,
    customers=2_000,
    merchants=1_500,
    seed=7,
    scenario="amount_inflation",
    onset_day=ONSET,
)


def _world(
    config: SimulationConfig, tmp_path: Path, settings: Settings, instance: dg.DagsterInstance
) -> Playback:
    # ~120 frauds per 7-day window at this scale: ROC-AUC moves by ~0.03 from noise alone,
    # so the performance margin is wider, and the champion's floor lower, than the production
    # defaults (right after a new fraud pattern, every model scores ~0.80 on the newest
    # matured window: 0.80 would stop scoring on noise).
    settings = dataclasses.replace(
        settings, label_maturity_days=14, performance_margin=0.08, champion_min_roc_auc=0.75
    )
    world = Playback.simulate(config, settings, instance, tmp_path / "staging")
    world.start(TRAIN_DAY)  # also scores the history: the cohorts performance reports need
    return world


@pytest.fixture
def world(tmp_path: Path, settings: Settings, instance: dg.DagsterInstance) -> Playback:
    return _world(CONFIG, tmp_path, settings, instance)


def test_drift_is_detected_within_three_days_and_a_quiet_month_retrains_nothing(
    world: Playback,
) -> None:
    lake = DeltaLake(world.settings.lake_uri)
    # Control: 31 quiet days (no drift), fed in chunks, the sensor ticking after each.
    for first, last in ((TRAIN_DAY, TRAIN_DAY + 10), (TRAIN_DAY + 11, ONSET - 1)):
        world.feed(first, last)
        tick = world.tick()
        assert not tick.requested, tick.message
    drift = lake.read("monitoring/feature_drift")
    monitored = drift.filter(pl.col("judged")).get_column("event_date").unique()
    assert monitored.len() >= 30  # every quiet day was judged, none called for a retrain
    assert lake.read("monitoring/model_performance").height > 0

    # Drift: amounts inflate from the onset day on. Detected within 3 days.
    requested_on = None
    for day in range(ONSET, ONSET + 3):
        world.feed(day, day)
        tick = world.tick()
        if tick.requested:
            requested_on = day
            break
    assert requested_on is not None, "no retraining requested within 3 days of the onset"
    assert tick.run is not None and tick.run.success
    assert tick.tags is not None and tick.tags["ml_platform/retrain_kind"] == "drift"
    assert "amount" in tick.tags["ml_platform/retrain_reason"]
    run = world.instance.get_run_by_id(tick.run.run_id)
    assert run is not None and run.tags["dagster/run_key"].startswith("retrain:drift:v1:")
    gate = world.instance.get_latest_materialization_event(dg.AssetKey(["ml", "champion"]))
    assert gate is not None and gate.run_id == tick.run.run_id  # the gate decided

    # The next day's evidence is the same episode: no second retrain.
    world.feed(requested_on + 1, requested_on + 1)
    assert not world.tick().requested
    report = Path(world.settings.reports_dir) / "feature_drift"
    assert (report / f"{CONFIG.date_of(requested_on)}.html").exists()


PATTERN_ONSET = TRAIN_DAY + 4
PATTERN = dataclasses.replace(
    CONFIG, days=PATTERN_ONSET + 28, scenario="new_fraud_pattern", onset_day=PATTERN_ONSET
)


def test_a_new_fraud_pattern_is_retrained_on_and_the_new_champion_scores_better(
    tmp_path: Path, settings: Settings, instance: dg.DagsterInstance
) -> None:
    world = _world(PATTERN, tmp_path, settings, instance)
    world.feed(TRAIN_DAY, PATTERN_ONSET - 1)
    assert not world.tick().requested  # the normal stretch

    # A week at a time, as a weekly review would see it: the loss shows once the first
    # post-onset cohorts have matured (14 days), not before.
    requests = []
    for first in range(PATTERN_ONSET, PATTERN.days, 7):
        world.feed(first, first + 6)
        tick = world.tick()
        if tick.requested:
            assert tick.run is not None and tick.run.success
            assert tick.tags is not None
            requests.append((first + 6 - PATTERN_ONSET + 1, tick.tags))
    # (A small merchant-feature drift may request an early retrain too; it cannot help yet.)
    performance = [
        (day, tags) for day, tags in requests if tags["ml_platform/retrain_kind"] == "performance"
    ]
    assert performance, f"the performance loss never requested a retrain: {requests}"
    drift_day, tags = performance[0]
    assert drift_day > world.settings.label_maturity_days  # needs matured post-onset labels
    assert "ROC-AUC" in tags["ml_platform/retrain_reason"]

    tracking = configure(world.settings.mlflow_tracking_uri, world.settings.mlflow_artifact_root)
    champion = model_aliases(tracking, world.settings.model_name)["champion"]
    assert champion != "1", "the retrain did not replace the champion"

    # Post-drift days the new champion never saw a label of: after its training cutoff.
    cutoff = dt.datetime.fromisoformat(
        recorded_lineage(tracking, world.settings.model_name, champion)["label_cutoff"]
    )
    assert cutoff.date() > PATTERN.date_of(PATTERN_ONSET)  # it did learn from the new pattern
    lake = DeltaLake(world.settings.lake_uri)
    unseen = lake.read("silver/transactions").filter(pl.col("event_timestamp") > cutoff)
    truth = pl.read_parquet(Path(world.settings.ground_truth_dir) / "transactions_truth.parquet")
    rows = transaction_features(lake, feature_repo(world.settings), unseen).join(
        truth.select("transaction_id", "is_fraud"), on="transaction_id"
    )
    assert rows.height == unseen.height and rows.get_column("is_fraud").sum() > 300
    fraud = rows.get_column("is_fraud").to_numpy()
    old = score(load_model(tracking, world.settings.model_name, "1"), rows)
    new = score(load_model(tracking, world.settings.model_name, champion), rows)
    figures = {
        "requests": [(day, tags["ml_platform/retrain_reason"]) for day, tags in requests],
        "champion": champion,
        "cutoff": str(cutoff),
        "unseen_rows": rows.height,
        "roc_auc": (roc_auc(fraud, old), roc_auc(fraud, new)),
        "pr_auc": (pr_auc(fraud, old), pr_auc(fraud, new)),
    }
    logging.getLogger(__name__).info("new fraud pattern: %s", figures)
    assert figures["roc_auc"][1] > figures["roc_auc"][0], figures
    assert figures["pr_auc"][1] > figures["pr_auc"][0], figures
