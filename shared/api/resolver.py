"""Factory for each function's resolver: body limits, validation, OpenAPI metadata, error registry."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

from shared.api.errors import register_error_handlers
from shared.errors import BodyNotAnObject, InvalidJson, UnsupportedMediaType

# Limits of any JSON body, checked before anything else parses it (a client must not be able to make us 500).
MAX_BODY_BYTES = 6 * 1024 * 1024  # above Lambda's synchronous payload limit: the gateway refuses larger first
MAX_DEPTH = 32  # nesting of objects and arrays
MAX_NUMBER_DIGITS = 40  # characters of one JSON number (an amount needs 16)


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER_DIGITS:
        raise InvalidJson("A number in the body is too long.", limit=MAX_NUMBER_DIGITS)
    return float(text) if any(c in text for c in ".eE") else int(text)


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not valid JSON.")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what an attacker wants)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_body(text: str) -> Any:
    """Parse a JSON body once, with limits on size, nesting and number length (``InvalidJson`` otherwise)."""
    if len(text) > MAX_BODY_BYTES:
        raise InvalidJson("The request body is too large.", limit=MAX_BODY_BYTES)
    try:
        value = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_constant)
    except RecursionError:
        raise InvalidJson("The body is nested too deeply.", limit=MAX_DEPTH) from None
    except ValueError as exc:  # JSONDecodeError and the int-digits limit alike
        raise InvalidJson("The request body is not valid JSON.", position=getattr(exc, "pos", None)) from None
    if _depth(value) > MAX_DEPTH:
        raise InvalidJson("The body is nested too deeply.", limit=MAX_DEPTH)
    return value


class JsonRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools request validation, after the body passed our own checks.

    * Only JSON: Powertools parses form and multipart bodies itself and raises plain ``ValueError`` on
      malformed ones (a 500); other media types are a 415 before any parser runs.
    * Parsed once, with limits (``parse_body``); the result primes the event's ``json_body`` cache, so
      Powertools and the idempotency middleware read the same value without parsing again.
    * A route whose body is a model takes a JSON object: Powertools would take the first element of an
      array (and drop the rest); anything but an object is a 422.
    """

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        if event.body:
            content_type = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
            if content_type != "application/json" and not content_type.endswith("+json"):
                raise UnsupportedMediaType(content_type=content_type[:100])
            try:
                text = event.decoded_body or ""
            except (UnicodeDecodeError, ValueError):
                raise InvalidJson("The request body is not UTF-8 encoded JSON.") from None
            body = parse_body(text)
            event.__dict__["json_body"] = body  # functools.cached_property's slot
            route = app.context.get("_route")
            if route is not None and route.dependant.body_params and not isinstance(body, dict):
                raise BodyNotAnObject(received=type(body).__name__)
        return super().handler(app, next_middleware)


def build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    # Powertools always runs its request validation first; ours wraps it (attribute pinned with Powertools 3.37).
    app._request_validation_middleware = JsonRequestValidation()
    register_error_handlers(app)
    return app
