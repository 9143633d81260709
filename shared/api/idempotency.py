"""``Idempotency-Key`` for every mutating route, on Powertools Idempotency + DynamoDB.

A route opts in with ``middlewares=[idempotent()]``. The key is scoped to the
caller, method and path; the request body is the payload that must match:

* first request: runs the route, stores the complete HTTP response;
* replay (same key, same body): returns the stored response, byte for byte,
  plus ``Idempotent-Replayed: true``;
* same key, different body: 422 ``IDEMPOTENCY_KEY_REUSED``;
* concurrent duplicate while the first is running: 409 ``REQUEST_IN_PROGRESS``.

Errors raised by the route (4xx domain errors, 5xx) are not stored: Powertools
deletes the in-progress record on exception, so a retry after a refusal is a new
attempt. Expiry is checked by Powertools on read (``expiration`` attribute), the
table's TTL only garbage-collects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from pydantic import Field

from shared import aws
from shared.api.auth import current_caller
from shared.errors import IdempotencyKeyRequired, InvalidInput
from shared.settings import BaseSettings

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

Middleware = Callable[[APIGatewayRestResolver, NextMiddleware], Response]


class IdempotencySettings(BaseSettings):
    idempotency_table: str = Field(min_length=1)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)


@cache
def _runner(settings: IdempotencySettings) -> Callable[..., dict[str, Any]]:
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=aws.dynamodb()
    )
    cfg = IdempotencyConfig(
        event_key_jmespath="[caller, method, path, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        hash_function="sha256",
        raise_on_no_idempotency_key=True,
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=cfg)
    def run(request: dict[str, Any], call: Callable[[], Response]) -> dict[str, Any]:
        response = call()
        return {
            "status_code": response.status_code,
            "body": response.body if isinstance(response.body, str)
            else json.dumps(response.body, separators=(",", ":")),
            "headers": {k: v for k, v in (response.headers or {}).items() if isinstance(v, str)},
            "content_type": response.content_type,
        }

    run.config = cfg  # type: ignore[attr-defined]
    return run  # type: ignore[no-any-return]


def request_tag(caller: str, key: str) -> str:
    """A request's tag for a service that must know its own request again: the caller and the
    ``Idempotency-Key`` (a retry after a crash carries the same key), hashed (32 hex characters)."""
    return hashlib.sha256(f"{caller}\x1f{key}".encode()).hexdigest()[:32]


def _without(response: Response, secret_fields: tuple[str, ...]) -> Response:
    """The response as stored: each of ``secret_fields`` (top-level JSON members) set to null (CONTRACTS.md
    "Secrets in responses": a replay returns the stored result without the secret)."""
    body = response.body if isinstance(response.body, str) else json.dumps(response.body, separators=(",", ":"))
    try:
        data = json.loads(body)
    except ValueError:
        return response
    if not isinstance(data, dict) or not any(f in data for f in secret_fields):
        return response
    data.update({f: None for f in secret_fields if f in data})
    return Response(status_code=response.status_code, content_type=response.content_type,
                    body=json.dumps(data, separators=(",", ":")), headers=response.headers)


def idempotent(required: bool = True, secret_fields: tuple[str, ...] = ()) -> Middleware:
    """Route middleware honouring the ``Idempotency-Key`` header.

    ``secret_fields``: members of the JSON response that are never stored in the idempotency record; the first
    answer carries them, a replay answers null for them.

    Called when the route is declared (the handler's import), so its settings are validated at cold start.
    """
    settings = IdempotencySettings.load()

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        key = app.current_event.headers.get(HEADER)  # case-insensitive in Powertools
        if not key:
            if required:
                raise IdempotencyKeyRequired()
            return next_middleware(app)
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.", header=HEADER)
        caller = current_caller(app)
        run = _runner(settings)
        run.config.register_lambda_context(app.lambda_context)  # type: ignore[attr-defined]
        replayed = True
        first: Response | None = None

        def call() -> Response:
            nonlocal replayed, first
            replayed = False
            first = next_middleware(app)
            return _without(first, secret_fields) if secret_fields else first

        request = {
            "caller": caller.sub,
            "method": app.current_event.http_method,
            "path": app.current_event.path,
            "key": key,
            "body": app.current_event.json_body,  # parsed once, with limits, by the resolver
        }
        stored = run(request=request, call=call)
        headers = dict(stored["headers"])
        headers[HEADER] = key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        elif first is not None and secret_fields:  # the caller gets the secret once; the record never has it
            return Response(status_code=first.status_code, content_type=first.content_type, body=first.body,
                            headers={**(first.headers or {}), HEADER: key})
        return Response(
            status_code=stored["status_code"],
            content_type=stored["content_type"],
            body=stored["body"],
            headers=headers,
        )

    middleware.idempotency_key_required = required  # type: ignore[attr-defined]  # read by the API document
    return middleware
