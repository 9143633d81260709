"""HTTP edge of proxy mode: a route middleware that refuses forged codes before anything touches a table."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.proxy.wiring import proxy_service


def verify_code_first(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Verify the body's ``code`` (HMAC, expiry) before the idempotency record or any other read.

    Listed before ``idempotent()``: a forged, mutated or expired code costs one HMAC and no database
    request at all. Bodies that are not JSON objects with a string ``code`` pass through to the
    schema validation, which refuses them.
    """
    try:
        body = json.loads(app.current_event.body or "null")
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, str):
        proxy_service().verify_code(code)
    return next_middleware(app)
