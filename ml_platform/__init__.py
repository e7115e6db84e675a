"""ml-platform: a Dagster-native ML lakehouse (the Dagster code location package).

Importing the package turns MLflow's usage telemetry off unless ``MLFLOW_DISABLE_TELEMETRY``
is already set: MLflow 3 otherwise sends usage events to mlflow-telemetry.io from every
process that logs or loads a model. The platform sends nothing anywhere it was not configured
to (Dagster's telemetry is off in the instance files for the same reason). Set
``MLFLOW_DISABLE_TELEMETRY=false`` to opt back in.

It also keeps typeguard from instrumenting Feast's classes when Feast is imported, which halves
the start of every process (see ``lib/feast_import.py``), and lets Dagster's local SQLite
storage commit events without an fsync each (WAL + ``synchronous=NORMAL``, see
``lib/dagster_sqlite.py``).
"""

import os

from ml_platform.lib import dagster_sqlite, feast_import

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
feast_import.install()
dagster_sqlite.install()
