"""Factory for each function's resolver: body limits, validation, OpenAPI metadata, error registry."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

from shared.api.errors import register_error_handlers
from shared.api.schemas import error_responses
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


# Answers any route can give, whatever its own code does (so every route documents them):
# 400 a body that is not JSON, 401 the gateway's authorizer, 413 the gateway's body limit, 415 a body that is not
# JSON by its media type, 422 the request does not match the schema (``ErrorBody``, not Powertools' default
# ``HTTPValidationError``: the error registry answers every error with ``ErrorBody``).
EVERY_ROUTE = (400, 401, 413, 415, 422)
# Answers of the ``idempotent`` middleware: 400 IDEMPOTENCY_KEY_REQUIRED, 409 REQUEST_IN_PROGRESS (a concurrent
# duplicate), 422 IDEMPOTENCY_KEY_REUSED.
IDEMPOTENT_ROUTE = (400, 409, 422)


def documented_responses(rule: str, responses: dict[int, OpenAPIResponse] | None, status_code: int,
                         response_description: str, middlewares: list[Any] | None) -> dict[int, OpenAPIResponse]:
    """A route's OpenAPI ``responses``: its success answer (the return model, unless the route documents its 2xx
    answers itself), the errors every route can answer and those of its middlewares, then what the route itself
    declares (wins)."""
    statuses = set(EVERY_ROUTE)
    if "<" in rule:  # a path parameter with a character outside Powertools' pattern matches no route: 404
        statuses.add(404)
    if any(getattr(m, "idempotency_key_required", None) is not None for m in middlewares or ()):
        statuses.update(IDEMPOTENT_ROUTE)
    out: dict[int, OpenAPIResponse] = {}
    if not any(200 <= code < 300 for code in responses or {}):
        out[status_code] = {"description": response_description}  # no content given: Powertools uses the return type
    out.update(error_responses(*sorted(statuses)))
    out.update(responses or {})
    return out


class WalletResolver(APIGatewayRestResolver):
    """Powertools' REST resolver whose routes document every answer they give (``documented_responses``): with
    ``responses=``, Powertools documents only those, not even the route's success status."""

    def route(self, rule: str, method: Any, cors: bool | None = None, compress: bool = False,  # type: ignore[override]
              cache_control: str | None = None, summary: str | None = None, description: str | None = None,
              responses: dict[int, OpenAPIResponse] | None = None,
              response_description: str = "Successful Response", tags: list[str] | None = None,
              operation_id: str | None = None, include_in_schema: bool = True,
              security: list[dict[str, list[str]]] | None = None, openapi_extensions: dict[str, Any] | None = None,
              deprecated: bool = False, enable_validation: bool | None = None,
              custom_response_validation_http_code: Any = None, status_code: int = 200,
              middlewares: list[Any] | None = None) -> Any:
        return super().route(rule, method, cors, compress, cache_control, summary, description,
                             documented_responses(rule, responses, status_code, response_description, middlewares),
                             response_description, tags, operation_id, include_in_schema, security,
                             openapi_extensions, deprecated, enable_validation, custom_response_validation_http_code,
                             status_code, middlewares)


def build_resolver() -> APIGatewayRestResolver:
    app = WalletResolver(enable_validation=True)
    # Powertools always runs its request validation first; ours wraps it (attribute pinned with Powertools 3.37).
    app._request_validation_middleware = JsonRequestValidation()
    register_error_handlers(app)
    return app
