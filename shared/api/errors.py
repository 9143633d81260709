"""The one error registry: domain errors -> HTTP problems with a JSON error body.

Adding a domain error means adding one line to ``STATUS_BY_ERROR`` (the most
specific class wins via the MRO walk), never matching message text.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from shared import errors
from shared.api.schemas import ErrorBody, ErrorDetail
from shared.observability import logger
from shared.writes import ConflictingWrite

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.BadRequest: 400,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.IdempotencyKeyRequired: 400,
    errors.InvalidPageToken: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.IdempotencyKeyReused: 422,
    errors.LimitExceeded: 429,
    errors.TemporarilyUnavailable: 503,
}


def status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 400


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   retry_after: int | None = None) -> Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details or {}))
    headers = {"Retry-After": str(retry_after or 1)} if status == 503 or retry_after else None
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    fields = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        fields.append({"location": ".".join(loc), "type": err.get("type"), "message": err.get("msg")})
    return {"fields": fields}


_JSON_ONLY = "Send the body as JSON with Content-Type: application/json."


def _domain(exc: errors.DomainError) -> Response:
    status = status_for(exc)
    logger.info("request refused", extra={"error_code": exc.code, "status": status})
    # An error that knows when to come back (a lockout: 429 TOO_MANY_ATTEMPTS) says so in Retry-After.
    retry_after = getattr(exc, "retry_after_seconds", None)
    return error_response(status, exc.code, exc.message, exc.details,
                          retry_after=retry_after if isinstance(retry_after, int) else None)


def _validation(app: APIGatewayRestResolver) -> Callable[[RequestValidationError], Response]:
    def handle(exc: RequestValidationError) -> Response:
        content_type = (app.current_event.headers.get("content-type") or "").lower()
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", _JSON_ONLY)
        details = _validation_details(exc)
        if any(f["type"] == "json_invalid" for f in details["fields"]):
            return error_response(400, "INVALID_JSON", "The request body is not valid JSON.", details)
        return error_response(422, "VALIDATION_ERROR", "The request does not match the schema.", details)

    return handle


def _undecodable(_: Exception) -> Response:
    return error_response(400, "INVALID_JSON", "The request body is not UTF-8 encoded JSON.")


def _media_type(_: Exception) -> Response:
    return error_response(415, "UNSUPPORTED_MEDIA_TYPE", _JSON_ONLY)


def _key_reused(_: Exception) -> Response:
    exc = errors.IdempotencyKeyReused()
    return error_response(422, exc.code, exc.message)


def _in_progress(_: Exception) -> Response:
    exc = errors.RequestInProgress()
    return error_response(409, exc.code, exc.message)


def _service(exc: ServiceError) -> Response:
    return error_response(exc.status_code, "HTTP_" + str(exc.status_code), str(exc.msg))


def _contention(_: Exception) -> Response:
    """A write lost to contention that the service did not retry away: the client retries (same key)."""
    exc = errors.TemporarilyUnavailable()
    return error_response(503, exc.code, exc.message)


# AWS's own transient answers, still failing after the SDK's bounded retries: the request may be retried as is.
_TRANSIENT_AWS = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                            "InternalServerError", "ServiceUnavailable", "InternalFailure"})


def _transient_aws(exc: BaseException | None) -> str | None:
    """The name of the transient AWS failure behind ``exc`` (itself or its causes: Powertools wraps a failed
    idempotency-record write), or None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _TRANSIENT_AWS:
            return str(exc.response["Error"]["Code"])
        if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
            return type(exc).__name__
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _aws(exc: Exception) -> Response:
    """A transient AWS error (throttling, internal error, timeout) the SDK's retries did not outlast answers 503
    like contention (the client retries with the same key; nothing was stored for a failed request); any other
    error (an AWS validation or authorization error included) is a 500, never to be retried blindly."""
    transient = _transient_aws(exc)
    if transient is None:
        return _unexpected(exc)
    logger.warning("AWS still unavailable after the SDK's retries", extra={"error": transient})
    return _contention(exc)


def _not_found(_: Exception) -> Response:
    return error_response(404, "ROUTE_NOT_FOUND", "No such route.")


def _unexpected(_: Exception) -> Response:
    logger.exception("unhandled error")
    return error_response(500, "INTERNAL_ERROR", "Internal error; it has been logged.")


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    handlers: list[tuple[Any, Callable[[Any], Response]]] = [
        (errors.DomainError, _domain),
        (RequestValidationError, _validation(app)),
        ([UnicodeDecodeError, binascii.Error], _undecodable),
        (RequestUnsupportedContentType, _media_type),
        (IdempotencyValidationError, _key_reused),
        (IdempotencyAlreadyInProgressError, _in_progress),
        (ServiceError, _service),
        (ConflictingWrite, _contention),
        (Exception, _aws),
    ]
    for exc_type, handler in handlers:
        app.exception_handler(exc_type)(handler)
    app.not_found(_not_found)
