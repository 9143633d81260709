"""HTTP edge of bank binding (used by handlers only): the partner-request middleware, listed before
``idempotent()``, so an unsigned, forged, stale or replayed request never reaches the idempotency record (an exact
replay is refused, not answered from it).

The target URI is rebuilt as the partner called it: the scheme from ``X-Forwarded-Proto`` (API Gateway sets it),
the host from ``Host``, and ``requestContext.path``, which is the path as called, including a stage prefix on the
``execute-api`` endpoint (``/dev/partners/bindings``) or a base path on a custom domain; partner routes take no
query string.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.api.auth import current_caller
from shared.api.idempotency import Middleware
from shared.binding import wiring
from shared.binding.errors import NotAPartner
from shared.binding.settings import BindingSettings

PARTNER_KEY = "binding_partner"


def target_uri(event: dict[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    host = headers.get("host", "")
    path = (event.get("requestContext") or {}).get("path") or event.get("path") or "/"
    query = event.get("multiValueQueryStringParameters") or {}
    suffix = ""
    if query:
        from urllib.parse import urlencode

        suffix = "?" + urlencode([(k, v) for k, values in query.items() for v in values])
    return f"{scheme}://{host}{path}{suffix}"


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode("utf-8")


def signed_partner(settings: BindingSettings) -> Middleware:
    """Authenticate the partner (token claim + RFC 9421 signature + nonce) before anything else runs."""

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        caller = current_caller(app)
        if not caller.has("partner"):
            raise NotAPartner()
        event = app.current_event.raw_event
        partner = wiring.authenticator(settings).authenticate(
            caller.partner_id, app.current_event.http_method, target_uri(event),
            {k: v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}, raw_body(event))
        app.append_context(**{PARTNER_KEY: partner})
        return next_middleware(app)

    return middleware
