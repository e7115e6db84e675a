"""The service's request and response bodies (pydantic): its OpenAPI schema comes from here.

The request is one transaction in the landing schema (``lib/ingestion/sources.TRANSACTIONS``)
with the landing file's rules: a non-empty id, integer ids, an amount > 0 and finite, a known
channel, an ISO-3166 alpha-2 country and a timestamp with a time zone. A request that breaks
one gets a 422 whose ``detail[].loc`` names the field.

A batch (``POST /score/batch``) is ``{"transactions": [...]}``: 1 to ``max_batch_transactions``
transactions of that same schema (``batch_request_model`` builds the request type for the
configured limit); a 422 names the failing transaction by its index
(``["body", "transactions", 3, "amount"]``). The answer is ``{"scores": [...]}``, one
``ScoreResponse`` per transaction, in order.
"""

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

Channel = Literal["atm", "online", "pos"]
"""``lib/ingestion/sources.CHANNELS`` (a test keeps them equal)."""

MAX_ID = 2**63 - 1  # ids are Int64 in the lake and in Feast


class Transaction(BaseModel):
    """A card transaction to score: the columns of a landing transactions file."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "transaction_id": "tx-0001",
                    "customer_id": 42,
                    "merchant_id": 7,
                    "amount": 129.90,
                    "merchant_category": "electronics",
                    "channel": "online",
                    "country": "US",
                    "event_timestamp": "2026-04-01T12:30:00Z",
                }
            ]
        },
    )

    transaction_id: str = Field(min_length=1, max_length=200, description="Unique id.")
    customer_id: int = Field(ge=0, le=MAX_ID, description="Card holder.")
    merchant_id: int = Field(ge=0, le=MAX_ID, description="Merchant that takes the payment.")
    amount: float = Field(gt=0, allow_inf_nan=False, description="Amount (> 0).")
    merchant_category: str = Field(min_length=1, max_length=100, description="lower_snake.")
    channel: Channel = Field(description="online, pos or atm.")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO-3166 alpha-2 merchant country.")
    event_timestamp: AwareDatetime = Field(description="When the card is used, with a time zone.")


class ShadowScore(BaseModel):
    """The challenger's opinion on the same features (recorded, never acted on)."""

    model_version: str = Field(description="Registry version holding the challenger alias.")
    score: float = Field(description="The challenger's fraud probability.")
    flagged: bool = Field(description="Whether the challenger would have flagged it.")


class Timing(BaseModel):
    """Where the request's time went inside the handler, in milliseconds.

    In a ``/score/batch`` answer these are the whole batch's times, the same for each of its
    transactions.
    """

    features_ms: float = Field(description="Online store lookup + request-time features.")
    model_ms: float = Field(description="Champion prediction.")
    shadow_ms: float = Field(description="Challenger prediction (0 without shadow mode).")
    total_ms: float = Field(description="The handler end to end (framework excluded).")


class ScoreResponse(BaseModel):
    """The decision on one transaction and everything it was based on."""

    transaction_id: str
    score: float = Field(description="Fraud probability from the champion.")
    flagged: bool = Field(description="The decision: score >= threshold.")
    threshold: float = Field(description="ML_PLATFORM_DECISION_THRESHOLD.")
    model_version: str = Field(description="Registry version of the champion that scored.")
    shadow: ShadowScore | None = Field(
        default=None, description="Challenger score in shadow mode, else null."
    )
    defaults_used: list[Literal["customer", "merchant"]] = Field(
        description="Entities with no valid online snapshot (unknown, or older than the "
        "feature TTL): their features are the documented defaults (missing values)."
    )
    feature_timestamps: dict[str, dt.datetime | None] = Field(
        description="Per entity, the time the online snapshot used was stamped (null: none)."
    )
    features: dict[str, float | int | None] = Field(
        description="Every model input as the batch scores table records it (null = missing)."
    )
    timing: Timing


class BatchScoreRequest(BaseModel):
    """Transactions to score together (``batch_request_model`` adds the configured limit)."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[Transaction] = Field(min_length=1, description="In any order.")


def batch_request_model(max_transactions: int) -> type[BatchScoreRequest]:
    """``BatchScoreRequest`` accepting 1 to ``max_transactions`` transactions.

    The limit is checked while the list is validated: a longer list is refused after at most
    ``max_transactions + 1`` items, and the OpenAPI schema shows it (``maxItems``).
    """
    return create_model(
        "BatchScoreRequest",
        __base__=BatchScoreRequest,
        __doc__=BatchScoreRequest.__doc__,
        transactions=(
            list[Transaction],
            Field(
                min_length=1,
                max_length=max_transactions,
                description=f"1 to {max_transactions} transactions "
                "(ML_PLATFORM_SERVING_MAX_BATCH_TRANSACTIONS), in any order; an entity may "
                "appear in several.",
            ),
        ),
    )


class BatchScoreResponse(BaseModel):
    """The decisions on a batch: one ``ScoreResponse`` per transaction, in request order."""

    scores: list[ScoreResponse]


class HealthResponse(BaseModel):
    """Whether the service can score, and how fresh its inputs are."""

    status: Literal["ok", "degraded"] = Field(
        description="ok: a champion is loaded and the online store answers."
    )
    model_version: str | None = Field(description="Champion version loaded.")
    shadow_model_version: str | None = Field(description="Challenger loaded for shadow mode.")
    model_checked_at: dt.datetime | None = Field(description="Last successful registry poll.")
    online_store_reachable: bool
    newest_feature_timestamp: dt.datetime | None = Field(
        description="Event time of the newest row in the online store."
    )
    feature_age_seconds: float | None = Field(
        description="Now minus newest_feature_timestamp: the feature freshness."
    )
    request_log_pending: int = Field(description="Scored requests not yet written to Delta.")
