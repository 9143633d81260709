"""Free text is safe to show (issue 9 item 7): every schema that takes free text uses ``shared.types.safe_text``.

NUL, other control characters and bidirectional overrides/isolates in any free-text field are refused with
``422 VALIDATION_ERROR`` before anything runs, and nothing is stored: each case then sends the same request with
clean text and sees it succeed where the operation is once-only (one group per user, one agent record, one
reversal request per order ...), which proves the refused request left nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.campaigns.helpers import admin, campaign_body, create_campaign
from tests.conftest import Api
from tests.proxy.conftest import Proxy, sum_balances

HOSTILE = {
    "NUL": "Ali\x00ce",
    "escape": "Al\x1b[31mice",
    "newline": "line\nbreak",
    "DEL": "Al\x7fice",
    "C1 control": "Al\x85ice",
    "right-to-left override": "Alice \u202egnp.exe",
    "isolate": "Alice \u2066x\u2069",
    "right-to-left mark": "Alice\u200f",
}


def _key() -> str:
    return str(uuid.uuid4())


def _refused(reply: Any, field: str) -> None:
    assert (reply.status, reply.code) == (422, "VALIDATION_ERROR"), reply.body
    locations = [f["location"] for f in reply.body["error"]["details"]["fields"]]
    assert any(field in loc for loc in locations), locations


Case = Callable[[Api, Proxy, str], None]


def transfer_note(api: Api, proxy: Proxy, text: str) -> None:
    alice, bob = api.user(balance=1_000), api.user()
    body = {"to_account_id": bob.account_id, "amount": {"amount": 100, "currency": "CNY"}}
    _refused(api.call("POST", "/transfers", {**body, "note": text}, token=alice.token, key=_key()), "note")
    assert (api.balance(alice), api.balance(bob)) == (1_000, 0)


def deposit_note(api: Api, proxy: Proxy, text: str) -> None:
    alice = api.user()
    reply = api.call("POST", f"/admin/accounts/{alice.account_id}/deposits",
                     {"amount": {"amount": 100, "currency": "CNY"}, "note": text}, token=admin(api), key=_key())
    _refused(reply, "note")
    assert api.balance(alice) == 0


def campaign_name(api: Api, proxy: Proxy, text: str) -> None:
    before = sum_balances(api)[1]
    _refused(api.call("POST", "/admin/campaigns", campaign_body(name=text), token=admin(api), key=_key()), "name")
    assert sum_balances(api)[1] == before  # no pot funded


def group_name(api: Api, proxy: Proxy, text: str) -> None:
    token = api.token(f"u-{uuid.uuid4().hex[:8]}")
    cid = create_campaign(api)["campaign_id"]
    _refused(api.call("POST", "/groups", {"name": text, "campaign_id": cid}, token=token, key=_key()), "name")
    created = api.call("POST", "/groups", {"name": "family", "campaign_id": cid}, token=token, key=_key())
    assert created.status == 201  # one per user and campaign: the refused one created nothing


def agent_display_name(api: Api, proxy: Proxy, text: str) -> None:
    shop = api.user()
    body = {"account_id": shop.account_id, "limits": {"per_order": 1_000, "daily": 5_000}}
    _refused(api.call("POST", "/admin/agents", {**body, "display_name": text}, token=admin(api), key=_key()),
             "display_name")
    assert api.call("POST", "/admin/agents", {**body, "display_name": "Corner Shop"}, token=admin(api),
                    key=_key()).status == 201  # put once: the refused request stored nothing


def _executed_order(api: Api, proxy: Proxy) -> tuple[Any, str]:
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    order = proxy.order(user, "TOP_UP", 1_000)
    assert proxy.execute(agent, order["code"]).status == 200
    return user, order["order_id"]


def reversal_reason(api: Api, proxy: Proxy, text: str) -> None:
    user, order_id = _executed_order(api, proxy)
    path = f"/proxy-orders/{order_id}/reversal-requests"
    _refused(api.call("POST", path, {"reason": text}, token=user.token, key=_key()), "reason")
    assert api.call("POST", path, {"reason": "wrong amount"}, token=user.token, key=_key()).status == 201


def reversal_decision_note(api: Api, proxy: Proxy, text: str) -> None:
    user, order_id = _executed_order(api, proxy)
    rid = api.call("POST", f"/proxy-orders/{order_id}/reversal-requests", {"reason": "wrong amount"},
                   token=user.token, key=_key()).body["request_id"]
    reviewer = api.token("rev-9", "reviewer")
    _refused(api.call("POST", f"/admin/proxy-reversals/{rid}/decision", {"approve": True, "note": text},
                      token=reviewer, key=_key()), "note")
    queue = api.call("GET", "/admin/proxy-reversals", token=reviewer).body["items"]
    assert {r["request_id"]: r["status"] for r in queue}[rid] == "REQUESTED"


def identity_claimed_name(api: Api, proxy: Proxy, text: str) -> None:
    from shared.identity.repository import DynamoIdentityStore

    sub = f"u-{uuid.uuid4().hex[:8]}"
    claimed = {"name": text, "school": "Peking University", "student_number": "PKU2024001"}
    _refused(api.call("POST", "/identity-verifications", {"identity_type": "student", "claimed": claimed},
                      token=api.token(sub), key=_key()), "claimed")
    school = {**claimed, "name": "Li Hua", "school": f"Peking {text}"}
    _refused(api.call("POST", "/identity-verifications", {"identity_type": "student", "claimed": school},
                      token=api.token(sub), key=_key()), "claimed")
    store = DynamoIdentityStore("IdentityTable", api.stack.client("dynamodb"))
    assert store.latest_verification_id(sub, "student") is None


def review_reason(api: Api, proxy: Proxy, text: str) -> None:
    # the body is validated before the review is looked up: a refusal, not a 404, and nothing to store
    reply = api.call("POST", f"/reviews/rv_{'0' * 32}/decision", {"decision": "APPROVE", "reason": text},
                     token=api.token("rev-9", "reviewer"), key=_key())
    _refused(reply, "reason")


def credential_number(api: Api, proxy: Proxy, text: str) -> None:
    reply = api.call("POST", f"/identity-verifications/iv_{'0' * 32}/documents",
                     {"content_type": "image/jpeg", "credential_number": text}, token=api.token("someone"), key=_key())
    _refused(reply, "credential_number")


CASES: dict[str, Case] = {f.__name__: f for f in (
    transfer_note, deposit_note, campaign_name, group_name, agent_display_name, reversal_reason,
    reversal_decision_note, identity_claimed_name, review_reason, credential_number)}


@pytest.mark.parametrize("field", sorted(CASES))
def test_hostile_text_is_refused_and_stores_nothing(api: Api, field: str) -> None:
    for name in ("NUL", "right-to-left override"):
        CASES[field](api, Proxy(api), HOSTILE[name])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_kind_of_hostile_character_is_refused(api: Api, name: str) -> None:
    transfer_note(api, Proxy(api), HOSTILE[name])
    group_name(api, Proxy(api), HOSTILE[name])


def test_text_is_normalised_before_it_is_stored(api: Api) -> None:
    token = api.token(f"u-{uuid.uuid4().hex[:8]}")
    decomposed = "  Cafe\u0301 club  "  # e + combining acute, padded
    cid = create_campaign(api)["campaign_id"]
    reply = api.call("POST", "/groups", {"name": decomposed, "campaign_id": cid}, token=token, key=_key())
    assert reply.status == 201 and reply.body["name"] == "Caf\u00e9 club"
