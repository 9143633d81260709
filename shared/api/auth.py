"""The caller, read only from the authorizer context (never from the body).

On AWS the REST API's Cognito user-pool authorizer puts the token's claims in
``requestContext.authorizer.claims``; roles are Cognito groups
(``cognito:groups``: ``admin``, ``reviewer``, ``internal``, ``partner``) and a
partner's id is the ``custom:partner_id`` claim. The local gateway puts its
token's claims in the same place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from shared.errors import Forbidden, InvalidInput, Unauthenticated
from shared.types import ClientContext

ROLES = frozenset({"admin", "reviewer", "internal", "partner"})


E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Caller(BaseModel):
    sub: str
    groups: frozenset[str] = frozenset()
    partner_id: str | None = None
    phone_number: str | None = None  # the verified Cognito phone_number claim, E.164 (CONTRACTS.md)

    def has(self, group: str) -> bool:
        return group in self.groups

    def require(self, *groups: str) -> Caller:
        """Raise ``Forbidden`` unless the caller is in one of ``groups``."""
        if not any(g in self.groups for g in groups):
            raise Forbidden(f"Requires role: {' or '.join(groups)}.", required=list(groups))
        return self


def parse_groups(raw: Any) -> frozenset[str]:
    """Cognito groups arrive as a list, ``"a,b"`` (REST authorizer) or ``"[a b]"`` (JWT authorizer)."""
    if raw is None or raw == "":
        return frozenset()
    items = [str(g) for g in raw] if isinstance(raw, list | tuple) else str(raw).strip("[]").replace(",", " ").split()
    return frozenset(g for g in items if g)


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not sub or not isinstance(sub, str):
        raise Unauthenticated()
    return Caller(
        sub=sub,
        groups=parse_groups(claims.get("cognito:groups")),
        partner_id=claims.get("custom:partner_id") or None,
        phone_number=phone if isinstance(phone := claims.get("phone_number"), str) and E164.match(phone) else None,
    )


def current_caller(app: APIGatewayRestResolver) -> Caller:
    return caller_from_event(app.current_event.raw_event)


SESSION_HEADER = "X-Session-Id"
DEVICE_HEADER = "X-Device-Id"
TOKEN_HEADER = "X-Verification-Token"  # noqa: S105 - a header name
_CLIENT_HEADERS = {SESSION_HEADER: 128, DEVICE_HEADER: 128, TOKEN_HEADER: 256}


def client_context(app: APIGatewayRestResolver) -> ClientContext:
    """The request's session, device, source IP, verification token and phone claim (headers checked: printable,
    bounded; a bad one is a 422 naming the header)."""
    headers = app.current_event.headers
    values: dict[str, str | None] = {}
    for name, limit in _CLIENT_HEADERS.items():
        value = headers.get(name)  # case-insensitive in Powertools
        if value is not None and (not value or len(value) > limit or not value.isprintable()):
            raise InvalidInput(f"{name} must be 1-{limit} printable characters.", header=name)
        values[name] = value
    identity = (app.current_event.raw_event.get("requestContext") or {}).get("identity") or {}
    source_ip = identity.get("sourceIp") if isinstance(identity.get("sourceIp"), str) else None
    return ClientContext(session_id=values[SESSION_HEADER], device_id=values[DEVICE_HEADER], source_ip=source_ip,
                         verification_token=values[TOKEN_HEADER],
                         caller_phone=current_caller(app).phone_number)


# The same headers as typed route parameters (documented in the OpenAPI document, validated by the resolver).
SessionIdHeader = Annotated[str | None, Header(alias=SESSION_HEADER, min_length=1, max_length=128,
                                               description="The sign-in session (POST /sessions).")]
DeviceIdHeader = Annotated[str | None, Header(alias=DEVICE_HEADER, min_length=1, max_length=128,
                                              description="The app's device id.")]
VerificationTokenHeader = Annotated[str | None, Header(alias=TOKEN_HEADER, min_length=1, max_length=256,
                                                       description="A verification token (POST /verifications/"
                                                                   "{id}/attempts) for this protected call.")]
