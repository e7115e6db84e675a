"""ml-platform: a Dagster-native ML lakehouse (the Dagster code location package).

Importing the package turns MLflow's usage telemetry off unless ``MLFLOW_DISABLE_TELEMETRY``
is already set: MLflow 3 otherwise sends usage events to mlflow-telemetry.io from every
process that logs or loads a model. The platform sends nothing anywhere it was not configured
to (Dagster's telemetry is off in the instance files for the same reason). Set
``MLFLOW_DISABLE_TELEMETRY=false`` to opt back in. MLflow's artifact-download progress bars are
off too (``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``, unless already set).

It also keeps typeguard from instrumenting Feast's classes when Feast is imported, which halves
the start of every process (see ``lib/feast_import.py``), and lets Dagster's local SQLite
storage commit events without an fsync each (WAL + ``synchronous=NORMAL``, see
``lib/dagster_sqlite.py``), and turns on Dagster's batched event writes
(``DAGSTER_EVENT_BATCH_SIZE``, unless already set): the local instance's event log
(``lib/dagster_event_batches.py``) stores the planned events of a partitioned run and a
partition range's materializations in one transaction per file instead of two per event.
"""

import os

from ml_platform.lib import dagster_sqlite, feast_import

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow draws a progress bar on stderr for every artifact download (each model load: the
# scoring and monitoring steps, the service); in step logs and the demo's output it is noise.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# Events per batch before Dagster flushes it early (a batch also ends with its last event):
# above the planned events of the largest run the platform creates (4 assets x 121 days at 10M).
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
feast_import.install()
dagster_sqlite.install()
