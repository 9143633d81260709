"""Idempotency-Key on every route that moves money, consumes a right or creates an object (issue 9 item 6).

* Every mutating route of the API document requires the key, except the few listed (with why) in
  docs/decision_log.md (2026-11-29, issue 9): ``KEY_OPTIONAL`` below is that list, and the document says the same.
* A keyless request to any of the others is ``400 IDEMPOTENCY_KEY_REQUIRED`` before anything runs.
* 20 concurrent keyless claims use no claim right; 20 concurrent claims with one key use exactly one.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local_stack import LocalStack
from local_stack.template import ROOT, Template
from tests.campaigns.helpers import create_campaign, interact
from tests.conftest import Api, new_key
from tests.events import event_path_for

DOC = json.loads((ROOT / "docs" / "openapi.json").read_text())
MUTATING = ("post", "put", "patch", "delete")

# Routes that take a key but do not require one; the decision log gives the reasons.
KEY_OPTIONAL = {
    ("post", "/internal/campaigns/{campaign_id}/interactions"),  # the body's interaction_id is put once
    ("post", "/groups/{group_id}/leave"),  # removes; a repeat is refused (404) and changes nothing
    ("post", "/identity-verifications/{verification_id}/documents"),  # a fresh short-lived upload form
    ("post", "/identity-verifications/{verification_id}/documents/submit"),  # one conditional transition
    ("post", "/reviews/{review_id}/decision"),  # one conditional transition; moves no money
    ("put", "/admin/users/{sub}/tags/{tag}"),  # sets a tag: a repeat leaves the same state (HTTP-idempotent)
    ("delete", "/admin/users/{sub}/tags/{tag}"),  # removes a tag: a repeat is 404 and changes nothing
    ("delete", "/me/devices/{device_id}"),  # forgets a device: a repeat is 404 and changes nothing
    ("post", "/admin/partners/{partner_id}/suspension"),  # sets the partner SUSPENDED: a repeat, the same state
    ("delete", "/admin/partners/{partner_id}/suspension"),  # sets it ACTIVE again: a repeat, the same state
    ("delete", "/bindings/{binding_id}"),  # unbinds (single-use §4 token): a repeat is 404 and changes nothing
}


def _key_parameter(operation: dict[str, Any]) -> dict[str, Any] | None:
    return next((p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"), None)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, path, op) for path, item in DOC["paths"].items() for m, op in item.items() if m in MUTATING]


def test_every_mutating_route_requires_a_key_except_the_documented_few() -> None:
    required = {(m, p) for m, p, op in _operations() if (_key_parameter(op) or {}).get("required")}
    optional = {(m, p) for m, p, op in _operations() if (_key_parameter(op) or {}).get("required") is False}
    without = {(m, p) for m, p, op in _operations() if _key_parameter(op) is None}
    assert optional == KEY_OPTIONAL
    assert without == set(), f"mutating routes without Idempotency-Key: {sorted(without)}"
    for route in [("post", "/accounts"), ("post", "/campaigns/{campaign_id}/claims"),
                  ("post", "/campaigns/{campaign_id}/key-user-claims"), ("post", "/groups"),
                  ("post", "/groups/join"), ("post", "/identity-verifications"), ("post", "/transfers")]:
        assert route in required, route
    log = (ROOT / "docs" / "decision_log.md").read_text()
    for _, path in KEY_OPTIONAL:
        assert f"`{path}`" in log, f"the decision log does not list {path} as an exception"


# The execute route verifies its code (HMAC) before anything else, the key included, and its sample event's code
# is not genuine: its keyless refusal is tested with a genuine code in tests/proxy/test_proxy_api.py. Likewise the
# partner routes verify their RFC 9421 signature first (an exact replay must be refused, not answered from the
# idempotency record): their keyless refusal, signed, is in tests/binding/test_partner_api.py.
SIGNED_FIRST = {"ExecuteProxyOrderFunction", "CreateBindingRequestFunction", "ConfirmBindingFunction",
                "RejectBindingFunction"}
REQUIRED_FUNCTIONS = sorted(
    lid for lid, spec in Template().functions().items() for r in spec.routes
    if (_key_parameter(DOC["paths"].get(r.path, {}).get(r.method.lower(), {})) or {}).get("required")
    and lid not in SIGNED_FIRST)


@pytest.mark.parametrize("logical_id", REQUIRED_FUNCTIONS)
def test_a_keyless_request_is_refused_before_anything_runs(clean_stack: LocalStack, logical_id: str) -> None:
    event = json.loads(Path(event_path_for(clean_stack.registry.specs[logical_id])).read_text())
    keyless = copy.deepcopy(event)
    for headers in (keyless.get("headers") or {}, keyless.get("multiValueHeaders") or {}):
        for name in [h for h in headers if h.lower() == "idempotency-key"]:
            del headers[name]
    result = clean_stack.invoke(logical_id, keyless)
    body = json.loads(result["body"])
    assert (result["statusCode"], body["error"]["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED"), body


def test_concurrent_keyless_claims_use_no_right_and_one_key_uses_one(api: Api) -> None:
    # Given a user with 20 claim rights
    cid = create_campaign(api)["campaign_id"]
    token = api.token("claimer")
    for i in range(20):
        assert interact(api, cid, "claimer", f"i-{i}").body["granted"] is True
    path = f"/campaigns/{cid}/claims"

    def together(key: str | None) -> Counter[tuple[int, str | None]]:
        barrier = threading.Barrier(20)

        def claim(_: int) -> tuple[int, str | None]:
            barrier.wait()
            reply = api.call("POST", path, token=token, key=key)
            return reply.status, reply.code

        with ThreadPoolExecutor(20) as pool:
            return Counter(pool.map(claim, range(20)))

    # When 20 keyless claims arrive at once, Then all are refused and no right is used
    assert together(None) == Counter({(400, "IDEMPOTENCY_KEY_REQUIRED"): 20})
    assert api.call("GET", f"/campaigns/{cid}/vouchers", token=token).body["items"] == []
    # When 20 claims with one key arrive at once (a client's retries), Then one right is used
    outcomes = together(new_key())
    assert outcomes[(201, None)] >= 1 and set(outcomes) <= {(201, None), (409, "REQUEST_IN_PROGRESS")}, outcomes
    assert len(api.call("GET", f"/campaigns/{cid}/vouchers", token=token).body["items"]) == 1
    # and exactly 19 rights are left
    for _ in range(19):
        assert api.call("POST", path, token=token, key=new_key()).status == 201
    assert api.call("POST", path, token=token, key=new_key()).code == "NO_INTERACTION"
