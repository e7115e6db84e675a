"""Turning tables and schemas into Dagster metadata the UI shows."""

import dagster as dg
import pandera.polars as pa
import polars as pl

OWNERS = ["team:ml-platform"]


def column_schema(schema: pl.Schema, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    """A Dagster table schema from a Polars schema."""
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name))
            for name, dtype in schema.items()
        ]
    )


def pandera_column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """A Dagster table schema from a Pandera model, with its checks as constraints."""
    schema = model.to_schema()
    columns = []
    for name, column in schema.columns.items():
        checks = [str(check) for check in column.checks]
        if column.unique:
            checks.append("unique")
        columns.append(
            dg.TableColumn(
                name,
                str(column.dtype),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable, unique=column.unique, other=checks
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def markdown_preview(frame: pl.DataFrame, rows: int = 10) -> dg.MarkdownMetadataValue:
    """The first rows of a frame as a markdown table."""
    head = frame.head(rows)
    if head.width == 0:
        return dg.MetadataValue.md("_empty_")
    header = "| " + " | ".join(head.columns) + " |"
    rule = "|" + "---|" * head.width
    body = [
        "| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |"
        for row in head.iter_rows()
    ]
    return dg.MetadataValue.md("\n".join([header, rule, *body]))


def _features() -> dict[str, "tuple[pl.DataType, str]"]:
    from ml_platform.lib.features.catalog import FEATURE_TABLES, REQUEST_FEATURES

    every = [f for table in FEATURE_TABLES for f in table.features] + list(REQUEST_FEATURES)
    return {f.name: (f.dtype, f.description) for f in every}


def model_input_schema() -> dg.TableSchema:
    """The model's inputs (its signature), in the order the model matrix has them."""
    from ml_platform.lib.training.matrix import MODEL_FEATURES

    features = _features()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(features[name][0]), description=features[name][1])
            for name in MODEL_FEATURES
        ]
    )


def training_set_schema() -> dg.TableSchema:
    """Columns of ``ml/training_set``: entity and request columns, features, label, split."""
    from ml_platform.lib.feature_store.definitions import TRANSACTION_REQUEST_COLUMNS
    from ml_platform.lib.ingestion.sources import TRANSACTIONS
    from ml_platform.lib.training.dataset import ENTITY_COLUMNS, LABEL, SPLIT

    types = TRANSACTIONS.schema  # the entity and request columns keep their landing types
    entity = {
        "transaction_id": "Transaction.",
        "customer_id": "Card holder (customer_daily key).",
        "merchant_id": "Merchant (merchant_daily key).",
        "event_timestamp": "Point in time of the feature lookup.",
    }
    head = [dg.TableColumn(n, str(types[n]), description=entity[n]) for n in ENTITY_COLUMNS]
    request = [
        dg.TableColumn(field, str(types[silver]), description=f"Request field: silver {silver}.")
        for silver, field in TRANSACTION_REQUEST_COLUMNS.items()
    ]
    tail = [
        dg.TableColumn(LABEL, "Int32", description="1 if a chargeback was known by as_of."),
        dg.TableColumn(SPLIT, "String", description="train, validation or test (by time)."),
    ]
    return dg.TableSchema(columns=[*head, *request, *feature_service_schema().columns, *tail])


def feature_service_schema() -> dg.TableSchema:
    """What the ``fraud_detection`` feature service returns: every view and on-demand feature."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=description)
            for name, (dtype, description) in _features().items()
        ]
    )


def online_store_schema() -> dg.TableSchema:
    """What the online store holds per entity: its key, the snapshot time and its features."""
    from ml_platform.lib.features.catalog import FEATURE_TABLES

    columns = []
    for table in FEATURE_TABLES:
        columns.append(
            dg.TableColumn(
                table.join_key, "Int64", description=f"Key of the `{table.view_name}` view."
            )
        )
        columns += [
            dg.TableColumn(f"{table.view_name}:{f.name}", str(f.dtype), description=f.description)
            for f in table.features
        ]
    return dg.TableSchema(columns=columns)
