"""A tiny synthetic training set and models, for the MLflow fault tests (seconds, not minutes).

The frame has every model feature, a label driven by the first feature (a learnable signal)
and a time split; ``weak=True`` shuffles the labels, so that model has no signal left.
"""

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from ml_platform.lib.training.dataset import LABEL, SPLIT, TrainingSet
from ml_platform.lib.training.matrix import CATEGORICAL_FEATURES, MODEL_FEATURES
from ml_platform.lib.training.model import TrainedModel, train_model

MODEL_NAME = "fraud_detector"
ROWS = 3_000
MARGIN = 0.002


def synthetic_training_set(seed: int = 0) -> TrainingSet:
    """A featured, labelled, time-split frame with a clear fraud signal."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        name: rng.integers(0, 3, ROWS) if name in CATEGORICAL_FEATURES else rng.normal(size=ROWS)
        for name in MODEL_FEATURES
    }
    signal = np.asarray(columns[MODEL_FEATURES[0]])
    label = (signal + rng.normal(scale=0.5, size=ROWS) > 1.6).astype(np.int32)
    split = np.array(["train"] * 2_000 + ["validation"] * 500 + ["test"] * 500)
    frame = pl.DataFrame({**columns, LABEL: label, SPLIT: split})
    rows = {
        name: {"rows": int((split == name).sum()), "fraud": int(label[split == name].sum())}
        for name in ("train", "validation", "test")
    }
    lineage = {
        "as_of": dt.datetime(2026, 3, 1, tzinfo=dt.UTC).isoformat(),
        "maturity_days": 30,
        "splits": [0.67, 0.17, 0.16],
        "rows": rows,
        "delta_versions": {"silver/transactions": 1},
        "feature_service": "fraud_detection",
        "feature_service_fingerprint": "synthetic",
    }
    return TrainingSet(frame=frame, lineage=lineage)


def train(training_set: TrainingSet, weak: bool) -> TrainedModel:
    """A model with the signal, or one trained on shuffled labels (no signal)."""
    train_rows = training_set.split("train")
    if weak:
        shuffled = np.random.default_rng(1).permutation(train_rows.get_column(LABEL).to_numpy())
        train_rows = train_rows.with_columns(pl.Series(LABEL, shuffled))
    return train_model(train_rows, training_set.split("validation"), seed=42)


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def trainer(uri: str, artifacts: str, kind: str, sync: str) -> None:
    """A whole trainer process: train, then store, register and gate at once with the other.

    ``sync`` is a folder of signal files. Both trainers start storing on ``go``; both decide
    against the same champion (none) before either promotes, and the strong one promotes
    first: the weak one's decision is then stale, the worst case for the alias.
    """
    from ml_platform.lib.training import promotion
    from ml_platform.lib.training.registry import log_training
    from ml_platform.lib.training.tracking import configure

    signals = Path(sync)
    other = "weak" if kind == "strong" else "strong"
    promote = promotion.promote
    calls = []

    def promote_in_lockstep(tracking, name, decision):  # type: ignore[no-untyped-def]
        calls.append(decision)
        if len(calls) > 1:  # a re-decision after "superseded": no more choreography
            return promote(tracking, name, decision)
        (signals / f"decided-{kind}").touch()
        _wait_for(signals / f"decided-{other}")
        if kind == "weak":
            _wait_for(signals / "promoted-strong")
        outcome = promote(tracking, name, decision)
        (signals / f"promoted-{kind}").touch()
        return outcome

    promotion.promote = promote_in_lockstep  # type: ignore[assignment]
    training_set = synthetic_training_set()
    trained = train(training_set, weak=kind == "weak")
    _wait_for(signals / "go")  # both trainers finish together
    tracking = configure(uri, artifacts)  # a fresh store: created once, under a lock
    run = log_training(tracking, training_set, trained, MODEL_NAME)
    result = promotion.champion_gate(
        tracking, MODEL_NAME, run.version, training_set.split("test"), MARGIN
    )
    sys.stdout.write(f"{kind} {run.version} {result.outcome} {len(calls)}\n")


if __name__ == "__main__":
    trainer(*sys.argv[1:])
