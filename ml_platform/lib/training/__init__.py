"""Training the fraud model: dataset, model matrix, LightGBM, metrics, MLflow registry, gate.

One job per module, in pipeline order:

* ``dataset``: matured, labelled, point-in-time training set with a time-ordered split and its
  lineage (Delta versions, feature service); rebuilt from recorded versions by time travel;
  ``transaction_features``, the same feature path for batch scoring.
* ``matrix``: the one model-matrix preparation shared by training, evaluation and scoring.
* ``model``: deterministic LightGBM training with early stopping on the validation split.
* ``metrics``: ROC-AUC, PR-AUC, recall at 1 % false-positive rate, log loss, calibration.
* ``reference``: the training distribution of every model feature, for drift monitoring.
* ``tracking``: where MLflow lives: store and experiment creation, file locks (light import).
* ``registry``: MLflow runs, registered versions, aliases, race-safe promotion.
* ``gate``: the champion/challenger decision (pure) and side-by-side evaluation.
* ``promotion``: the gate against the live registry, serialized and race-safe.
"""
