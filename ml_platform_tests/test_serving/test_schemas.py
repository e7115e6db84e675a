"""The request schema is the landing contract of transactions."""

import datetime as dt
import typing

import pytest
from pydantic import ValidationError

from ml_platform.lib.ingestion.sources import CHANNELS, TRANSACTIONS
from ml_platform.serving.schemas import Channel, ScoreResponse, Transaction

VALID = {
    "transaction_id": "t-1",
    "customer_id": 1,
    "merchant_id": 2,
    "amount": 10.5,
    "merchant_category": "grocery",
    "channel": "pos",
    "country": "US",
    "event_timestamp": "2026-01-02T10:00:00+02:00",
}


def test_fields_and_channels_are_the_landing_contract() -> None:
    assert list(Transaction.model_fields) == TRANSACTIONS.column_names
    assert tuple(sorted(typing.get_args(Channel))) == tuple(sorted(CHANNELS))


def test_a_valid_transaction_keeps_its_time_zone_aware_timestamp() -> None:
    transaction = Transaction.model_validate({**VALID, "transaction_id": "  t-1 "})
    assert transaction.transaction_id == "t-1"
    assert transaction.event_timestamp.astimezone(dt.UTC) == dt.datetime(
        2026, 1, 2, 8, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", float("inf")),
        ("customer_id", -1),
        ("customer_id", 2**63),
        ("merchant_category", ""),
        ("country", "us"),
        ("channel", "ATM"),
        ("event_timestamp", "2026-01-02 10:00:00"),
    ],
)
def test_values_the_landing_files_would_quarantine_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        Transaction.model_validate({**VALID, field: value})
    assert [e["loc"][-1] for e in raised.value.errors()] == [field]


def test_the_response_documents_defaults_and_shadow() -> None:
    fields = ScoreResponse.model_fields
    assert {"score", "flagged", "model_version", "shadow", "defaults_used", "features"} <= set(
        fields
    )
