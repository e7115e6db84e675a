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
