"""Groups over HTTP: groups live in a campaign's context (key users are per campaign), invitations, join and leave,
members-only reads, key-user claims; bad input on every route."""

from __future__ import annotations

from typing import Any

from tests.campaigns.helpers import create_campaign
from tests.conftest import Api, Reply, new_key


def post(api: Api, path: str, body: Any = None, *, token: str | None = None) -> Reply:
    """A POST with a fresh Idempotency-Key (group routes create objects: the key is required)."""
    return api.call("POST", path, body, token=token, key=new_key())


MISSING_GROUP = "grp_" + "0" * 32
MISSING_CAMPAIGN = "cmp_" + "0" * 32


def test_group_life_cycle_and_key_user_claim(api: Api) -> None:
    alice, bob, eve = api.token("alice"), api.token("bob"), api.token("eve")
    cid = create_campaign(api)["campaign_id"]
    created = post(api, "/groups", {"name": "  family  ", "campaign_id": cid}, token=alice)
    assert created.status == 201, created.body
    gid = created.body["group_id"]
    assert (created.body["key_user"], created.body["members"], created.body["name"], created.body["campaign_id"],
            created.body["shared_voucher_id"]) == ("alice", ["alice"], "family", cid, None)

    code = post(api, f"/groups/{gid}/invitations", token=alice)
    assert code.status == 201, code.body
    joined = post(api, "/groups/join", {"code": code.body["code"]}, token=bob)
    assert joined.status == 200 and joined.body["members"] == ["alice", "bob"]

    # members only: Eve (not a member) sees nothing, cannot invite or leave
    assert api.call("GET", f"/groups/{gid}", token=bob).body["members"] == ["alice", "bob"]
    for method, path in [("GET", f"/groups/{gid}"), ("POST", f"/groups/{gid}/invitations"),
                         ("POST", f"/groups/{gid}/leave")]:
        reply = api.call(method, path, token=eve, key=new_key())
        assert reply.status == 404 and reply.code == "GROUP_NOT_FOUND", (path, reply.body)

    # one group per user and campaign; the key user cannot leave; a member can
    assert post(api, "/groups", {"name": "other", "campaign_id": cid}, token=bob).code == "ALREADY_IN_GROUP"
    assert post(api, "/groups/join", {"code": code.body["code"]}, token=bob).code == "ALREADY_IN_GROUP"
    assert post(api, f"/groups/{gid}/leave", token=alice).code == "KEY_USER_CANNOT_LEAVE"
    assert post(api, f"/groups/{gid}/leave", token=bob).status == 200
    assert api.call("GET", f"/groups/{gid}", token=bob).code == "GROUP_NOT_FOUND"

    # key-user claims: the creator once per campaign, nobody else
    first = post(api, f"/campaigns/{cid}/key-user-claims", token=alice)
    assert first.status == 201 and first.body["voucher"]["group_id"] == gid
    assert api.call("GET", f"/groups/{gid}", token=alice).body["shared_voucher_id"] == first.body["voucher"][
        "voucher_id"]
    assert post(api, f"/campaigns/{cid}/key-user-claims", token=alice).code == "KEY_USER_ALREADY_CLAIMED"
    not_key = post(api, f"/campaigns/{cid}/key-user-claims", token=bob)
    assert not_key.status == 403 and not_key.code == "NOT_KEY_USER"
    shared = first.body["voucher"]["voucher_id"]
    passed = post(api, f"/campaigns/{cid}/vouchers/{shared}/pass", token=alice)
    assert passed.code == "VOUCHER_NOT_TRANSFERABLE"


def test_key_users_are_per_campaign(api: Api) -> None:
    # Given Alice creates a group for campaign A, before campaign B exists
    alice, bob = api.token("alice"), api.token("bob")
    a = create_campaign(api)["campaign_id"]
    group_a = post(api, "/groups", {"name": "family", "campaign_id": a}, token=alice)
    assert group_a.status == 201, group_a.body
    b = create_campaign(api)["campaign_id"]

    # Then she is a key user of A only: her group for A does not make her a key user of B
    refused = post(api, f"/campaigns/{b}/key-user-claims", token=alice)
    assert refused.status == 403 and refused.code == "NOT_KEY_USER"
    assert post(api, f"/campaigns/{a}/key-user-claims", token=alice).status == 201

    # And a group of her own for B (one per campaign) makes her a key user of B, with B's own shared voucher
    group_b = post(api, "/groups", {"name": "friends", "campaign_id": b}, token=alice)
    assert group_b.status == 201, group_b.body
    claim_b = post(api, f"/campaigns/{b}/key-user-claims", token=alice)
    assert claim_b.status == 201 and claim_b.body["voucher"]["group_id"] == group_b.body["group_id"]

    # Bob may belong to Alice's group for A and lead his own group for B, not lead a second one in A
    code = post(api, f"/groups/{group_a.body['group_id']}/invitations", token=alice).body["code"]
    assert post(api, "/groups/join", {"code": code}, token=bob).status == 200
    assert post(api, "/groups", {"name": "mine", "campaign_id": a}, token=bob).code == "ALREADY_IN_GROUP"
    assert post(api, "/groups", {"name": "mine", "campaign_id": b}, token=bob).status == 201
    # being a member (not the creator) of a group in A does not make him a key user of A
    assert post(api, f"/campaigns/{a}/key-user-claims", token=bob).code == "NOT_KEY_USER"
    assert post(api, f"/campaigns/{b}/key-user-claims", token=bob).status == 201


def test_a_group_needs_an_open_campaign(api: Api) -> None:
    alice = api.token("alice")
    missing = post(api, "/groups", {"name": "family", "campaign_id": MISSING_CAMPAIGN}, token=alice)
    assert missing.status == 404 and missing.code == "CAMPAIGN_NOT_FOUND"
    cid = create_campaign(api)["campaign_id"]
    api.stack.invoke("DrawFreezeFunction", {"campaign_id": cid})  # the draw has started: the campaign is closed
    closed = post(api, "/groups", {"name": "family", "campaign_id": cid}, token=alice)
    assert closed.status == 409 and closed.code == "CAMPAIGN_CLOSED"
    ddb = api.stack.client("dynamodb")
    assert ddb.scan(TableName="GroupsTable", FilterExpression="begins_with(pk, :g)",
                    ExpressionAttributeValues={":g": {"S": "GROUP#"}})["Count"] == 0


def test_group_routes_reject_bad_input(api: Api) -> None:
    user = api.token("alice")
    cid = create_campaign(api)["campaign_id"]
    assert post(api, "/groups", {}, token=user).status == 422
    assert post(api, "/groups", {"name": "family"}, token=user).status == 422  # no campaign
    assert post(api, "/groups", {"name": "", "campaign_id": cid}, token=user).status == 422
    assert post(api, "/groups", {"name": "x" * 81, "campaign_id": cid}, token=user).status == 422
    assert post(api, "/groups", {"name": "fam\u202eily", "campaign_id": cid}, token=user).status == 422
    assert post(api, "/groups", {"name": "fam\x00ily", "campaign_id": cid}, token=user).status == 422
    assert post(api, "/groups", {"name": "family", "campaign_id": "nope"}, token=user).status == 422
    assert post(api, "/groups", {"name": "family", "campaign_id": cid, "x": 1}, token=user).status == 422
    assert api.call("POST", "/groups", raw=b"[", token=user, key=new_key()).code == "INVALID_JSON"
    assert post(api, "/groups/join", {"code": "short"}, token=user).status == 422
    assert post(api, "/groups/join", {"code": "no-such-code-123"}, token=user).code == "INVITATION_NOT_FOUND"
    for method, path in [("GET", "/groups/nope"), ("POST", "/groups/nope/invitations"), ("POST", "/groups/nope/leave")]:
        assert api.call(method, path, token=user, key=new_key()).status == 422, path
    for method, path in [("GET", f"/groups/{MISSING_GROUP}"), ("POST", f"/groups/{MISSING_GROUP}/invitations"),
                         ("POST", f"/groups/{MISSING_GROUP}/leave")]:
        assert api.call(method, path, token=user, key=new_key()).code == "GROUP_NOT_FOUND", path
    assert api.call("POST", "/groups", {"name": "x", "campaign_id": cid}).status == 401
    # none of the refusals created anything: alice can still create her group in this campaign
    assert post(api, "/groups", {"name": "mine", "campaign_id": cid}, token=user).status == 201
