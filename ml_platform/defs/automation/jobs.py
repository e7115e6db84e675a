"""Jobs: named selections people launch from the UI or the CLI."""

import dagster as dg

ingestion_job = dg.define_asset_job(
    "ingestion_job",
    selection=dg.AssetSelection.groups("ingestion", "staging"),
    description=(
        "Landing → bronze → silver for a range of days: ingests every new or changed landing "
        "file and rebuilds the silver tables. Launch it over a partition range to backfill "
        "(one run per asset step, not one per day)."
    ),
)

feature_job = dg.define_asset_job(
    "feature_job",
    selection=dg.AssetSelection.groups("features", "feature_store"),
    description=(
        "Silver → daily customer and merchant features (Pandera-checked) → Feast registry and "
        "online store, for a range of days (one step per asset, however long the range)."
    ),
)

training_job = dg.define_asset_job(
    "training_job",
    selection=dg.AssetSelection.groups("training"),
    description=(
        "Retrain: point-in-time training set → LightGBM challenger in MLflow → champion gate "
        "(promotes only a challenger better than the champion by the margin)."
    ),
)

scoring_job = dg.define_asset_job(
    "scoring_job",
    selection=dg.AssetSelection.groups("scoring"),
    description="Score a range of days' transactions with the champion model.",
)

monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=dg.AssetSelection.groups("monitoring"),
    description=(
        "Drift reports (each scored day vs the scoring model's training reference) and matured "
        "performance reports for a range of days."
    ),
)

daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.groups("features", "feature_store", "scoring", "monitoring"),
    description=(
        "One day end to end after ingestion: features → Feast registry and online store → "
        "scores → drift and performance reports (what `daily_schedule` launches)."
    ),
)

warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.groups("analytics"),
    description=(
        "Rebuild the analysts' DuckDB warehouse (lake, features, ml, monitoring and analytics "
        "schemas) in a new file and swap it in atomically: safe while analysts are connected."
    ),
)
