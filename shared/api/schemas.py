"""Response models shared by every route (error body)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code.", examples=["INSUFFICIENT_FUNDS"])
    message: str = Field(description="Human-readable explanation.")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context (field errors, limits).")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer has this body: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, missing Idempotency-Key, bad token)",
    401: "No or invalid bearer token",
    403: "The caller lacks the required role",
    404: "Not found (or not the caller's)",
    409: "Conflicts with the current state",
    422: "Does not match the schema or the business rules",
    429: "A limit was exceeded",
    503: "Busy; retry with the same Idempotency-Key",
}


# ``Retry-After`` (seconds): every 503 carries it (``shared.api.errors.error_response``); a 429 when the limit knows
# when it lifts (a lockout), not every limit does (a daily claim limit).
_RETRY_AFTER_REQUIRED = {503: True, 429: False}


def _retry_after(required: bool) -> dict[str, Any]:
    return {"Retry-After": {"description": "Seconds to wait before retrying.", "required": required,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries for the given error statuses, all with ``ErrorBody`` (and ``Retry-After``
    where the status carries one)."""
    out: dict[int, OpenAPIResponse] = {}
    for s in statuses:
        out[s] = {"description": _DESCRIPTIONS.get(s, "Error"), "content": {"application/json": {"model": ErrorBody}}}
        if s in _RETRY_AFTER_REQUIRED:
            out[s]["headers"] = _retry_after(_RETRY_AFTER_REQUIRED[s])  # type: ignore[typeddict-item]
    return out
