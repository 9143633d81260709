"""Set-ups shared by the campaign tests that run on the local stack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Api, Reply, new_key

KINDS = [{"kind": "FU", "weight": 10}, {"kind": "LU", "weight": 5}, {"kind": "SHOU", "weight": 2}]


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "New Year 2027", "kinds": KINDS, "prize_pot": {"amount": 1_000_003, "currency": "CNY"},
        "draw_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "interaction_types": ["SCAN", "PAY"],
        "limits": {"claims_per_day": 20, "passes_per_day": 10},
    }
    body.update(overrides)
    return body


def admin(api: Api) -> str:
    return api.token("ops-admin", "admin")


def internal(api: Api) -> str:
    return api.token("interaction-source", "internal")


def create_campaign(api: Api, **overrides: Any) -> dict[str, Any]:
    reply = api.call("POST", "/admin/campaigns", campaign_body(**overrides), token=admin(api), key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def interact(api: Api, campaign_id: str, user: str, interaction_id: str | None = None) -> Reply:
    return api.call("POST", f"/internal/campaigns/{campaign_id}/interactions",
                    {"user_id": user, "interaction_type": "SCAN", "interaction_id": interaction_id or uuid.uuid4().hex},
                    token=internal(api))


def claim(api: Api, campaign_id: str, token: str) -> Reply:
    return api.call("POST", f"/campaigns/{campaign_id}/claims", token=token, key=new_key())
