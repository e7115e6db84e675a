"""Serving group: what the online scoring service (``ml-platform serve``) writes, in the graph.

The service runs outside Dagster (a long-lived HTTP process), so its request log is declared
as an external asset: the lineage shows which model and which online store it depends on, and
its columns are documented where every other table's are.
"""

import dagster as dg

from ml_platform.defs import keys
from ml_platform.defs.metadata import OWNERS, column_schema
from ml_platform.serving.request_log import LOG_SCHEMA

online_scores_spec = dg.AssetSpec(
    keys.ONLINE_SCORES,
    group_name="serving",
    kinds={"fastapi", "delta"},
    owners=OWNERS,
    deps=[keys.CHAMPION, keys.ONLINE_STORE],
    description=(
        "Every request scored by the online service (`ml-platform serve`): the transaction, "
        "every feature value the model saw, score and decision, champion and shadow "
        "(challenger) versions and scores, defaults used for unknown entities, and latencies. "
        "Appended in batches off the request path, partitioned by event date; same feature "
        "columns as `ml/transaction_scores`."
    ),
    metadata={"dagster/column_schema": column_schema(LOG_SCHEMA)},
)
