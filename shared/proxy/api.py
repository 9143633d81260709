"""HTTP edge of proxy mode (used by handlers only): a route middleware that refuses forged codes before
anything touches a table.

Why here and not in ``shared/api``: it needs the proxy's code verification (``wiring.execution``), and the
generic HTTP edge must not depend on a capability.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.api.idempotency import Middleware
from shared.proxy import wiring
from shared.proxy.settings import ProxySettings


def verify_code_first(settings: ProxySettings) -> Middleware:
    """Verify the body's ``code`` (HMAC, expiry) before the idempotency record or any other read.

    Listed before ``idempotent()``: a forged, mutated or expired code costs one HMAC and no database
    request at all. Bodies that are not JSON objects with a string ``code`` pass through to the
    schema validation, which refuses them.
    """

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        try:
            body = json.loads(app.current_event.body or "null")
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(code, str):
            wiring.execution(settings).verify_code(code)
        return next_middleware(app)

    return middleware
