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
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from shared.errors import Forbidden, Unauthenticated

ROLES = frozenset({"admin", "reviewer", "internal", "partner"})


E164 = re.compile(r"^\+[1-9]\d{6,14}$")


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
