"""Generic domain errors, the bases of every capability's own (``shared/<capability>/errors.py``).

They know nothing about HTTP: ``shared.api.errors`` maps them.

Each error has a stable machine-readable ``code`` that clients can switch on.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


# --- input --------------------------------------------------------------------
class InvalidInput(DomainError):
    code = "INVALID_INPUT"
    default_message = "The request is not valid."


class BadRequest(InvalidInput):
    """Malformed rather than merely invalid (HTTP 400 instead of 422)."""

    code = "BAD_REQUEST"
    default_message = "The request is malformed."


class PayloadTooLarge(InvalidInput):
    """The request or one of its parts is larger than allowed (HTTP 413)."""

    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request is too large."


class UnsupportedMediaType(InvalidInput):
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Send the body as JSON with Content-Type: application/json."


class InvalidJson(BadRequest):
    code = "INVALID_JSON"
    default_message = "The request body is not valid JSON within the API's limits."


class BodyNotAnObject(InvalidInput):
    code = "VALIDATION_ERROR"
    default_message = "The request body must be a JSON object."


class InvalidPageToken(InvalidInput):
    code = "INVALID_NEXT_TOKEN"
    default_message = "next_token is not valid for this listing."


class IdempotencyKeyRequired(InvalidInput):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    default_message = "This operation requires an Idempotency-Key header."


# --- who ----------------------------------------------------------------------
class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    default_message = "The caller is not authenticated."


class Forbidden(DomainError):
    code = "FORBIDDEN"
    default_message = "The caller may not perform this operation."


# --- state --------------------------------------------------------------------
class NotFound(DomainError):
    code = "NOT_FOUND"
    default_message = "The object does not exist."


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"
    default_message = "The object already exists."


class Conflict(DomainError):
    code = "CONFLICT"
    default_message = "The object changed; the operation conflicts with its current state."


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was already used with a different request."


class RequestInProgress(Conflict):
    code = "REQUEST_IN_PROGRESS"
    default_message = "A request with this Idempotency-Key is still being processed."


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"
    default_message = "A limit was exceeded."


class TooManyAttempts(LimitExceeded):
    """Too many consecutive failed attempts (CONTRACTS.md: one rule and code for §4 challenges and §5 sessions):
    HTTP 429 with ``Retry-After: retry_after_seconds``."""

    code = "TOO_MANY_ATTEMPTS"
    default_message = "Too many failed attempts; try again later."

    def __init__(self, retry_after_seconds: int = 60, message: str | None = None, **details: object) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__(message, retry_after_seconds=self.retry_after_seconds, **details)


# --- infrastructure -----------------------------------------------------------
class TemporarilyUnavailable(DomainError):
    """Contention that did not resolve within the bounded retries; safe to retry."""

    code = "TEMPORARILY_UNAVAILABLE"
    default_message = "The service is busy; retry the request with the same Idempotency-Key."
