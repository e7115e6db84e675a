"""Training the fraud model: dataset, model matrix, LightGBM, metrics, MLflow registry, gate.

One job per module, in pipeline order:

* ``dataset``: matured, labelled, point-in-time training set with a time-ordered split and its
  lineage (Delta versions, feature service); rebuilt from recorded versions by time travel.
* ``matrix``: the one model-matrix preparation shared by training, evaluation and scoring.
* ``model``: deterministic LightGBM training with early stopping on the validation split.
* ``metrics``: ROC-AUC, PR-AUC, recall at 1 % false-positive rate, log loss, calibration.
* ``reference``: the training distribution of every model feature, for drift monitoring.
* ``registry``: MLflow tracking and model registry (runs, versions, aliases, locks).
* ``gate``: the champion/challenger decision (pure) and side-by-side evaluation.
* ``promotion``: the gate against the live registry, serialized and race-safe.
"""
