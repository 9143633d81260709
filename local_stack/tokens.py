"""Local bearer tokens standing in for Cognito ID tokens (HS256 JWTs; local stack only).

Claims mirror what the Cognito user-pool authorizer passes to a function:
``sub``, ``cognito:groups`` (comma-separated), ``custom:partner_id`` and
``phone_number`` (E.164; verified at sign-up on AWS).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any

DEFAULT_SECRET = "local-stack-only-not-a-secret"
TTL_SECONDS = 12 * 3600


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret() -> bytes:
    return os.environ.get("LOCAL_TOKEN_SECRET", DEFAULT_SECRET).encode()


def issue(sub: str, groups: list[str] | None = None, partner_id: str | None = None,
          ttl: int = TTL_SECONDS, phone_number: str | None = None) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iss": "local-stack", "token_use": "id", "iat": now, "exp": now + ttl}
    if groups:
        claims["cognito:groups"] = ",".join(groups)
    if partner_id:
        claims["custom:partner_id"] = partner_id
    if phone_number:
        claims["phone_number"] = phone_number
        claims["phone_number_verified"] = "true"
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_secret(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def verify(token: str) -> dict[str, Any]:
    try:
        head, body, sig = token.split(".")
        expected = _b64(hmac.new(_secret(), f"{head}.{body}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            raise InvalidToken("bad signature")
        claims: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if int(claims.get("exp", 0)) < time.time():
        raise InvalidToken("expired")
    return claims
