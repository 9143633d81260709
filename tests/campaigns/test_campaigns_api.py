"""The campaign API over HTTP on the local stack: happy paths and bad input on every route."""

from __future__ import annotations

import uuid

import pytest

from tests.campaigns.helpers import admin, campaign_body, claim, create_campaign, interact
from tests.conftest import Api, new_key

MISSING_CAMPAIGN = "cmp_" + "0" * 32
MISSING_VOUCHER = "v_" + "0" * 32


def test_create_campaign_funds_the_pot_and_is_public(api: Api) -> None:
    # Given an admin creates a campaign
    body = campaign_body()
    key = str(uuid.uuid4())
    created = api.call("POST", "/admin/campaigns", body, token=admin(api), key=key)
    assert created.status == 201, created.body
    cid = created.body["campaign_id"]

    # Then a replay with the same key returns the same campaign, and the pot was funded once
    again = api.call("POST", "/admin/campaigns", body, token=admin(api), key=key)
    assert again.status == 201 and again.body["campaign_id"] == cid
    ddb = api.stack.client("dynamodb")
    account = ddb.get_item(TableName="AccountsTable", Key={"pk": {"S": f"ACCOUNT#{created.body['account_id']}"}})
    assert account["Item"]["balance"]["N"] == "1000003"

    # And anyone signed in sees its status and pool counts
    info = api.call("GET", f"/campaigns/{cid}", token=api.token("someone"))
    assert info.status == 200, info.body
    assert info.body["status"] == "OPEN"
    assert info.body["pool"] == {"FU": 0, "LU": 0, "SHOU": 0}


@pytest.mark.parametrize("change, code", [
    ({"kinds": [{"kind": "FU", "weight": 1}]}, "VALIDATION_ERROR"),  # fewer than two kinds
    ({"kinds": [{"kind": "FU", "weight": 0}, {"kind": "LU", "weight": 1}]}, "VALIDATION_ERROR"),
    ({"kinds": [{"kind": "FU", "weight": 1}, {"kind": "FU", "weight": 1}]}, "INVALID_INPUT"),
    ({"prize_pot": {"amount": 1.5, "currency": "CNY"}}, "VALIDATION_ERROR"),
    ({"prize_pot": {"amount": -1, "currency": "CNY"}}, "VALIDATION_ERROR"),
    ({"prize_pot": {"amount": 100, "currency": "XXX"}}, "UNSUPPORTED_CURRENCY"),
    ({"draw_at": "2020-01-01T00:00:00Z"}, "INVALID_DRAW_TIME"),
    ({"draw_at": "2099-01-01T00:00:00"}, "VALIDATION_ERROR"),  # no time zone
    ({"interaction_types": []}, "VALIDATION_ERROR"),
    ({"limits": {"claims_per_day": 0}}, "VALIDATION_ERROR"),
    ({"surprise": 1}, "VALIDATION_ERROR"),
])
def test_create_campaign_rejects_bad_input(api: Api, change: dict, code: str) -> None:
    reply = api.call("POST", "/admin/campaigns", campaign_body(**change), token=admin(api), key=str(uuid.uuid4()))
    assert reply.status in (400, 422), reply.body
    assert reply.code == code


def test_create_campaign_needs_admin_and_a_key(api: Api) -> None:
    assert api.call("POST", "/admin/campaigns", campaign_body(), token=api.token("u1"), key="k").code == "FORBIDDEN"
    assert api.call("POST", "/admin/campaigns", campaign_body(), token=admin(api)).code == "IDEMPOTENCY_KEY_REQUIRED"
    assert api.call("POST", "/admin/campaigns", campaign_body(), key="k").status == 401
    bad_json = api.call("POST", "/admin/campaigns", raw=b"{nope", token=admin(api), key="k2")
    assert bad_json.status == 400 and bad_json.code == "INVALID_JSON"


def test_interaction_claim_pass_and_pool_first(api: Api) -> None:
    cid = create_campaign(api)["campaign_id"]
    alice, bob = api.token("alice"), api.token("bob")

    # No interaction yet: NO_INTERACTION
    refused = claim(api, cid, alice)
    assert refused.status == 409 and refused.code == "NO_INTERACTION"

    # An interaction grants exactly one claim; its replay grants nothing
    first = interact(api, cid, "alice", "scan-1")
    assert first.status == 201 and first.body["granted"] is True
    replay = interact(api, cid, "alice", "scan-1")
    assert replay.status == 200 and replay.body["granted"] is False
    got = claim(api, cid, alice)
    assert got.status == 201, got.body
    assert got.body["source"] == "ISSUER"
    assert claim(api, cid, alice).code == "NO_INTERACTION"

    # Alice passes it on; Bob's claim takes it from the pool, with Alice recorded as donor
    vid = got.body["voucher"]["voucher_id"]
    passed = api.call("POST", f"/campaigns/{cid}/vouchers/{vid}/pass", token=alice, key=new_key())
    assert passed.status == 200, passed.body
    assert passed.body["status"] == "POOLED"
    pool = api.call("GET", f"/campaigns/{cid}", token=bob).body["pool"]
    assert sum(pool.values()) == 1
    interact(api, cid, "bob")
    bobs = claim(api, cid, bob)
    assert bobs.status == 201, bobs.body
    assert (bobs.body["source"], bobs.body["voucher"]["voucher_id"], bobs.body["voucher"]["donor"]) == (
        "POOL", vid, "alice")
    assert sum(api.call("GET", f"/campaigns/{cid}", token=bob).body["pool"].values()) == 0

    mine = api.call("GET", f"/campaigns/{cid}/vouchers", token=bob)
    assert mine.status == 200
    assert [(v["voucher_id"], v["status"], v["source"]) for v in mine.body["items"]] == [(vid, "HELD", "POOL")]
    assert api.call("GET", f"/campaigns/{cid}/vouchers", token=alice).body["items"] == []

    # Alice cannot pass Bob's voucher (not hers), nor one she no longer holds
    foreign = api.call("POST", f"/campaigns/{cid}/vouchers/{vid}/pass", token=alice, key=new_key())
    assert foreign.status == 404 and foreign.code == "VOUCHER_NOT_FOUND"


def test_limits_are_named_in_the_error(api: Api) -> None:
    cid = create_campaign(api, limits={"claims_per_day": 1, "passes_per_day": 1})["campaign_id"]
    alice = api.token("alice")
    for _ in range(3):
        interact(api, cid, "alice")
    v1 = claim(api, cid, alice).body["voucher"]["voucher_id"]
    over = claim(api, cid, alice)
    assert over.status == 429 and over.code == "CLAIMS_PER_DAY_EXCEEDED"
    assert over.body["error"]["details"]["limit"] == "claims_per_day"
    assert api.call("POST", f"/campaigns/{cid}/vouchers/{v1}/pass", token=alice, key=new_key()).status == 200


def test_routes_reject_malformed_and_unknown_ids(api: Api) -> None:
    user = api.token("alice")
    cid = create_campaign(api)["campaign_id"]
    for method, path in [("GET", "/campaigns/nope"), ("GET", "/campaigns/nope/vouchers"),
                         ("POST", "/campaigns/nope/claims"), ("POST", "/campaigns/nope/key-user-claims"),
                         ("GET", "/campaigns/nope/results"), ("POST", f"/campaigns/{cid}/vouchers/nope/pass")]:
        reply = api.call(method, path, token=user, key=new_key())
        assert reply.status == 422 and reply.code == "VALIDATION_ERROR", (path, reply.body)
    for method, path in [("GET", f"/campaigns/{MISSING_CAMPAIGN}"), ("GET", f"/campaigns/{MISSING_CAMPAIGN}/vouchers"),
                         ("POST", f"/campaigns/{MISSING_CAMPAIGN}/claims"),
                         ("POST", f"/campaigns/{MISSING_CAMPAIGN}/key-user-claims"),
                         ("GET", f"/campaigns/{MISSING_CAMPAIGN}/results"),
                         ("POST", f"/campaigns/{MISSING_CAMPAIGN}/vouchers/{MISSING_VOUCHER}/pass")]:
        reply = api.call(method, path, token=user, key=new_key())
        assert reply.status == 404 and reply.code == "CAMPAIGN_NOT_FOUND", (path, reply.body)
    unknown = api.call("POST", f"/campaigns/{cid}/vouchers/{MISSING_VOUCHER}/pass", token=user, key=new_key())
    assert unknown.status == 404 and unknown.code == "VOUCHER_NOT_FOUND"


def test_interaction_route_is_internal_only_and_validated(api: Api) -> None:
    cid = create_campaign(api)["campaign_id"]
    path = f"/internal/campaigns/{cid}/interactions"
    body = {"user_id": "alice", "interaction_type": "SCAN", "interaction_id": "i-1"}
    assert api.call("POST", path, body, token=api.token("alice"), key=new_key()).code == "FORBIDDEN"
    internal = api.token("src", "internal")
    assert api.call("POST", path, {**body, "interaction_type": "DANCE"},
                    token=internal).code == "INTERACTION_TYPE_NOT_ACCEPTED"
    assert api.call("POST", path, {**body, "user_id": "a b"}, token=internal).status == 422
    assert api.call("POST", path, {k: v for k, v in body.items() if k != "interaction_id"},
                    token=internal).status == 422
    assert api.call("POST", f"/internal/campaigns/{MISSING_CAMPAIGN}/interactions", body,
                    token=internal).code == "CAMPAIGN_NOT_FOUND"
    # nothing was granted by any of those
    assert claim(api, cid, api.token("alice")).code == "NO_INTERACTION"


def test_draw_route_needs_admin(api: Api) -> None:
    cid = create_campaign(api)["campaign_id"]
    assert api.call("POST", f"/admin/campaigns/{cid}/draw", token=api.token("alice"), key=new_key()).code == "FORBIDDEN"
    missing = api.call("POST", f"/admin/campaigns/{MISSING_CAMPAIGN}/draw", token=admin(api), key=new_key())
    assert missing.code == "CAMPAIGN_NOT_FOUND"
    assert api.call("POST", "/admin/campaigns/x/draw", token=admin(api), key=new_key()).status == 422
