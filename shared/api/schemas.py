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


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries for the given error statuses, all with ``ErrorBody``."""
    return {
        s: {
            "description": _DESCRIPTIONS.get(s, "Error"),
            "content": {"application/json": {"model": ErrorBody}},
        }
        for s in statuses
    }
