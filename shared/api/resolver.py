"""Factory for each function's resolver: validation, OpenAPI metadata, error registry."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

from shared.api.errors import register_error_handlers
from shared.errors import UnsupportedMediaType


class JsonRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools request validation, after refusing any body that is not JSON.

    Powertools parses form and multipart bodies itself and raises plain
    ``ValueError`` on malformed ones (a 500); our API takes JSON only, so other
    media types are a 415 before any parser runs (found by the schemathesis test).
    """

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        if event.body:
            content_type = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
            if content_type != "application/json" and not content_type.endswith("+json"):
                raise UnsupportedMediaType(content_type=content_type[:100])
        return super().handler(app, next_middleware)


def build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    # Powertools always runs its request validation first; ours wraps it (attribute pinned with Powertools 3.37).
    app._request_validation_middleware = JsonRequestValidation()
    register_error_handlers(app)
    return app
