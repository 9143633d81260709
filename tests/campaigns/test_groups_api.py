"""Groups over HTTP: create, invite, join, leave, members-only reads, key-user claims; bad input on every route."""

from __future__ import annotations

from tests.campaigns.helpers import create_campaign
from tests.conftest import Api, new_key

MISSING_GROUP = "grp_" + "0" * 32


def test_group_life_cycle_and_key_user_claim(api: Api) -> None:
    alice, bob, eve = api.token("alice"), api.token("bob"), api.token("eve")
    created = api.call("POST", "/groups", {"name": "  family  "}, token=alice, key=new_key())
    assert created.status == 201, created.body
    gid = created.body["group_id"]
    assert (created.body["key_user"], created.body["members"], created.body["name"]) == ("alice", ["alice"], "family")

    code = api.call("POST", f"/groups/{gid}/invitations", token=alice, key=new_key())
    assert code.status == 201, code.body
    joined = api.call("POST", "/groups/join", {"code": code.body["code"]}, token=bob, key=new_key())
    assert joined.status == 200 and joined.body["members"] == ["alice", "bob"]

    # members only: Eve (not a member) sees nothing, cannot invite or leave
    assert api.call("GET", f"/groups/{gid}", token=bob).body["members"] == ["alice", "bob"]
    for method, path in [("GET", f"/groups/{gid}"), ("POST", f"/groups/{gid}/invitations"),
                         ("POST", f"/groups/{gid}/leave")]:
        reply = api.call(method, path, token=eve, key=new_key())
        assert reply.status == 404 and reply.code == "GROUP_NOT_FOUND", (path, reply.body)

    # one group per user; the key user cannot leave; a member can
    assert api.call("POST", "/groups", {"name": "other"}, token=bob, key=new_key()).code == "ALREADY_IN_GROUP"
    rejoin = api.call("POST", "/groups/join", {"code": code.body["code"]}, token=bob, key=new_key())
    assert rejoin.code == "ALREADY_IN_GROUP"
    assert api.call("POST", f"/groups/{gid}/leave", token=alice, key=new_key()).code == "KEY_USER_CANNOT_LEAVE"
    assert api.call("POST", f"/groups/{gid}/leave", token=bob, key=new_key()).status == 200
    assert api.call("GET", f"/groups/{gid}", token=bob).code == "GROUP_NOT_FOUND"

    # key-user claims: the creator once per campaign, nobody else
    cid = create_campaign(api)["campaign_id"]
    first = api.call("POST", f"/campaigns/{cid}/key-user-claims", token=alice, key=new_key())
    assert first.status == 201 and first.body["voucher"]["group_id"] == gid
    again = api.call("POST", f"/campaigns/{cid}/key-user-claims", token=alice, key=new_key())
    assert again.code == "KEY_USER_ALREADY_CLAIMED"
    not_key = api.call("POST", f"/campaigns/{cid}/key-user-claims", token=bob, key=new_key())
    assert not_key.status == 403 and not_key.code == "NOT_KEY_USER"
    shared = first.body["voucher"]["voucher_id"]
    passed = api.call("POST", f"/campaigns/{cid}/vouchers/{shared}/pass", token=alice, key=new_key())
    assert passed.code == "VOUCHER_NOT_TRANSFERABLE"


def test_group_routes_reject_bad_input(api: Api) -> None:
    user = api.token("alice")
    assert api.call("POST", "/groups", {}, token=user, key=new_key()).status == 422
    assert api.call("POST", "/groups", {"name": ""}, token=user, key=new_key()).status == 422
    assert api.call("POST", "/groups", {"name": "x" * 81}, token=user, key=new_key()).status == 422
    assert api.call("POST", "/groups", raw=b"[", token=user, key=new_key()).code == "INVALID_JSON"
    assert api.call("POST", "/groups/join", {"code": "short"}, token=user, key=new_key()).status == 422
    unknown = api.call("POST", "/groups/join", {"code": "no-such-code-123"}, token=user, key=new_key())
    assert unknown.code == "INVITATION_NOT_FOUND"
    for method, path in [("GET", "/groups/nope"), ("POST", "/groups/nope/invitations"), ("POST", "/groups/nope/leave")]:
        assert api.call(method, path, token=user, key=new_key()).status == 422, path
    for method, path in [("GET", f"/groups/{MISSING_GROUP}"), ("POST", f"/groups/{MISSING_GROUP}/invitations"),
                         ("POST", f"/groups/{MISSING_GROUP}/leave")]:
        assert api.call(method, path, token=user, key=new_key()).code == "GROUP_NOT_FOUND", path
    assert api.call("POST", "/groups", {"name": "x"}).status == 401
    # none of the refusals created anything: alice can still create her group
    assert api.call("POST", "/groups", {"name": "mine"}, token=user, key=new_key()).status == 201
