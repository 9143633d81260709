"""Factory for each function's resolver: validation, OpenAPI metadata, error registry."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.api.errors import register_error_handlers


def build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app
