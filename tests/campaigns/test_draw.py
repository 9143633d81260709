"""The CampaignDraw workflow: the real ASL executed by the local stack, its Lambda steps our handlers."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from local_stack import LocalStack
from tests.campaigns.helpers import admin, claim, create_campaign, interact
from tests.conftest import Api, User, new_key

EVEN = [{"kind": "FU", "weight": 1}, {"kind": "LU", "weight": 1}, {"kind": "SHOU", "weight": 1}]
POT = 1_000_003


def collect_sets(api: Api, cid: str, user: User, sets: int = 1) -> None:
    """Interact and claim over HTTP until the user holds ``sets`` complete sets."""
    for _ in range(200):
        items = api.call("GET", f"/campaigns/{cid}/vouchers", token=user.token).body["items"]
        held = Counter(v["kind"] for v in items if v["status"] == "HELD")
        if all(held[k["kind"]] >= sets for k in EVEN):
            return
        assert interact(api, cid, user.sub).status == 201
        reply = claim(api, cid, user.token)
        assert reply.status == 201, reply.body
    raise AssertionError("never completed a set")


def draw(api: Api, cid: str) -> dict[str, Any]:
    started = api.call("POST", f"/admin/campaigns/{cid}/draw", token=admin(api), key=str(uuid.uuid4()))
    assert started.status == 202, started.body
    return api.stack.wait_execution(started.body["execution_arn"], timeout=120)


def balance(stack: LocalStack, account_id: str) -> int:
    item = stack.client("dynamodb").get_item(TableName="AccountsTable", Key={"pk": {"S": f"ACCOUNT#{account_id}"}})
    return int(item["Item"]["balance"]["N"])


def set_account_status(stack: LocalStack, account_id: str, status: str) -> None:
    stack.client("dynamodb").update_item(
        TableName="AccountsTable", Key={"pk": {"S": f"ACCOUNT#{account_id}"}}, UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}})


def test_two_people_play_a_whole_campaign_and_the_draw_is_rerunnable(api: Api) -> None:
    # Given Alice and Bob with payment accounts, Alice leads a group that Carol joins
    campaign = create_campaign(api, kinds=EVEN, limits={"claims_per_day": 200, "passes_per_day": 10})
    cid, pot_account = campaign["campaign_id"], campaign["account_id"]
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    group = api.call("POST", "/groups", {"name": "family", "campaign_id": cid}, token=alice.token, key=new_key())
    assert group.status == 201, group.body
    gid = group.body["group_id"]
    code = api.call("POST", f"/groups/{gid}/invitations", token=alice.token, key=new_key()).body["code"]
    assert api.call("POST", "/groups/join", {"code": code}, token=carol.token, key=new_key()).status == 200

    # Alice's key-user voucher is group-shared; she passes a spare on, Bob's next claim takes it
    key = api.call("POST", f"/campaigns/{cid}/key-user-claims", token=alice.token, key=new_key())
    assert key.status == 201 and key.body["source"] == "KEY_USER"
    interact(api, cid, "alice")
    spare = claim(api, cid, alice.token).body["voucher"]["voucher_id"]
    assert api.call("POST", f"/campaigns/{cid}/vouchers/{spare}/pass", token=alice.token, key=new_key()).status == 200
    interact(api, cid, "bob")
    assert claim(api, cid, bob.token).body["source"] == "POOL"
    collect_sets(api, cid, alice)
    collect_sets(api, cid, bob)

    # When the admin starts the draw
    run = draw(api, cid)

    # Then it succeeds, the campaign is settled and every share was paid once
    assert run["status"] == "SUCCEEDED", run
    info = api.call("GET", f"/campaigns/{cid}", token=bob.token).body
    assert info["status"] == "SETTLED"
    results = {u.sub: api.call("GET", f"/campaigns/{cid}/results", token=u.token).body for u in (alice, bob, carol)}
    total_sets = results["alice"]["total_sets"]
    share = results["alice"]["share"]["amount"]
    assert total_sets == len(results["alice"]["sets"]) + len(results["bob"]["sets"]) >= 2
    assert share == POT // total_sets
    paid = {u: sum(p["amount"]["amount"] for p in r["payments"]) for u, r in results.items()}
    balances = {u.sub: api.balance(u) for u in (alice, bob, carol)}
    assert balances == paid
    assert sum(paid.values()) + balance(api.stack, pot_account) == POT
    assert len(results["bob"]["sets"]) >= 1 and paid["bob"] == share * len(results["bob"]["sets"])
    # the key-user voucher (Alice's oldest) made her first set group-shared: split with Carol at the snapshot
    assert results["alice"]["sets"][0]["group_id"] == gid
    assert paid["carol"] == share // 2
    assert paid["alice"] == share // 2 + share * (len(results["alice"]["sets"]) - 1)
    vouchers = api.call("GET", f"/campaigns/{cid}/vouchers", token=bob.token).body["items"]
    assert sum(v["status"] == "CONSUMED" for v in vouchers) == 3 * len(results["bob"]["sets"])

    # And a second run pays nothing more; nothing moves in a settled campaign
    assert draw(api, cid)["status"] == "SUCCEEDED"
    assert {u.sub: api.balance(u) for u in (alice, bob, carol)} == balances
    interact_after = interact(api, cid, "bob")
    assert interact_after.status == 409 and interact_after.code == "CAMPAIGN_CLOSED"
    assert claim(api, cid, bob.token).code == "CAMPAIGN_CLOSED"
    closed_claim = api.call("POST", f"/campaigns/{cid}/key-user-claims", token=alice.token, key=new_key())
    assert closed_claim.code == "CAMPAIGN_CLOSED"
    left = [v for v in vouchers if v["status"] == "HELD"]
    if left:
        closed = api.call("POST", f"/campaigns/{cid}/vouchers/{left[0]['voucher_id']}/pass", token=bob.token,
                          key=new_key())
        assert closed.status == 409 and closed.code == "CAMPAIGN_CLOSED"


def test_group_members_are_the_freezes_and_fixed_until_settlement(api: Api) -> None:
    # Given Alice's group (Carol a member) holds the campaign's group-shared voucher, Bob's group holds none,
    # and Alice completes a set with the shared voucher in it
    campaign = create_campaign(api, kinds=EVEN, limits={"claims_per_day": 200, "passes_per_day": 10})
    cid = campaign["campaign_id"]
    alice, bob, carol, dave, erin = (api.user(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    shared = api.call("POST", "/groups", {"name": "family", "campaign_id": cid}, token=alice.token,
                      key=new_key()).body["group_id"]
    other = api.call("POST", "/groups", {"name": "friends", "campaign_id": cid}, token=bob.token,
                     key=new_key()).body["group_id"]
    invite = {g: api.call("POST", f"/groups/{g}/invitations", token=owner.token, key=new_key()).body["code"]
              for g, owner in ((shared, alice), (other, bob))}
    assert api.call("POST", "/groups/join", {"code": invite[shared]}, token=carol.token, key=new_key()).status == 200
    assert api.call("POST", f"/campaigns/{cid}/key-user-claims", token=alice.token, key=new_key()).status == 201
    collect_sets(api, cid, alice)

    # When the draw's freeze has run
    frozen = api.stack.invoke("DrawFreezeFunction", {"campaign_id": cid})
    assert frozen["campaign_id"] == cid

    # Then nobody joins or leaves the group holding the shared voucher: its members are the freeze's
    late = api.call("POST", "/groups/join", {"code": invite[shared]}, token=dave.token, key=new_key())
    assert late.status == 409 and late.code == "GROUP_LOCKED_FOR_DRAW", late.body
    leaving = api.call("POST", f"/groups/{shared}/leave", token=carol.token)
    assert leaving.status == 409 and leaving.code == "GROUP_LOCKED_FOR_DRAW", leaving.body
    assert api.call("GET", f"/groups/{shared}", token=alice.token).body["members"] == ["alice", "carol"]
    # while a group without a shared voucher keeps changing (its members share no prize)
    assert api.call("POST", "/groups/join", {"code": invite[other]}, token=erin.token, key=new_key()).status == 200

    # And the draw pays the shared set to the members at the freeze only
    run = draw(api, cid)
    assert run["status"] == "SUCCEEDED", run
    results = {u.sub: api.call("GET", f"/campaigns/{cid}/results", token=u.token).body for u in (alice, carol, dave)}
    share = results["alice"]["share"]["amount"]
    assert results["alice"]["sets"][0]["group_id"] == shared
    assert [p["amount"]["amount"] for p in results["carol"]["payments"]] == [share // 2]
    assert results["dave"]["payments"] == [] and api.balance(dave) == 0

    # After settlement the group changes again
    assert api.call("POST", "/groups/join", {"code": invite[shared]}, token=dave.token, key=new_key()).status == 200
    assert api.call("POST", f"/groups/{shared}/leave", token=carol.token).status == 200
    assert api.call("GET", f"/groups/{shared}", token=alice.token).body["members"] == ["alice", "dave"]
    assert api.balance(carol) == share // 2 and api.balance(dave) == 0  # nothing paid again, nothing taken back


def test_failure_mid_payout_then_rerun_pays_everyone_exactly_once(api: Api) -> None:
    # Given four winners, one of whose accounts is frozen (the payout to them fails)
    campaign = create_campaign(api, kinds=EVEN, limits={"claims_per_day": 200, "passes_per_day": 10})
    cid, pot_account = campaign["campaign_id"], campaign["account_id"]
    users = [api.user(f"w{i}") for i in range(4)]
    for u in users:
        collect_sets(api, cid, u)
    set_account_status(api.stack, users[2].account_id, "FROZEN")

    # When the draw runs, it fails in the payout
    first = draw(api, cid)
    assert first["status"] == "FAILED", first
    paid_before = {u.sub: balance(api.stack, u.account_id) for u in users}
    assert paid_before[users[2].sub] == 0

    # Then after the account is unfrozen a re-run pays the rest, and nobody twice
    set_account_status(api.stack, users[2].account_id, "ACTIVE")
    second = draw(api, cid)
    assert second["status"] == "SUCCEEDED", second
    results = {u.sub: api.call("GET", f"/campaigns/{cid}/results", token=u.token).body for u in users}
    share = POT // results["w0"]["total_sets"]
    for u in users:
        entries = api.call("GET", "/accounts/me/entries?limit=100", token=u.token).body["items"]
        prizes = [e for e in entries if e["type"] == "CAMPAIGN_PRIZE"]
        assert len(prizes) == len(results[u.sub]["sets"]) >= 1
        assert balance(api.stack, u.account_id) == share * len(results[u.sub]["sets"])
    paid = sum(balance(api.stack, u.account_id) for u in users)
    assert paid + balance(api.stack, pot_account) == POT
    assert balance(api.stack, pot_account) == POT - share * results["w0"]["total_sets"]


def test_interaction_completed_event_grants_a_claim_once(api: Api) -> None:
    import json
    from pathlib import Path

    cid = create_campaign(api)["campaign_id"]
    sample = json.loads((Path(__file__).parents[2] / "events/campaigns/on_interaction_completed.json").read_text())
    sample["detail"]["campaign_id"] = cid
    assert api.stack.invoke("InteractionCompletedFunction", sample) == {"granted": True}
    assert api.stack.invoke("InteractionCompletedFunction", sample) == {"granted": False}
    assert claim(api, cid, api.token(sample["detail"]["user_id"])).status == 201
    bad = {**sample, "detail": {**sample["detail"], "interaction_type": "DANCE"}}
    assert api.stack.invoke("InteractionCompletedFunction", bad) == {"granted": False,
                                                                      "reason": "INTERACTION_TYPE_NOT_ACCEPTED"}
    assert api.stack.invoke("InteractionCompletedFunction", {"detail": {}})["reason"] == "INVALID_EVENT"


def test_interaction_completed_put_on_the_bus_reaches_its_function_by_itself(api: Api) -> None:
    import json
    from pathlib import Path

    # Given a campaign and a trusted source's InteractionCompleted event, put on the default bus twice
    cid = create_campaign(api)["campaign_id"]
    sample = json.loads((Path(__file__).parents[2] / "events/campaigns/on_interaction_completed.json").read_text())
    sample["detail"]["campaign_id"] = cid
    entry = {"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(sample["detail"])}
    events = api.stack.client("events")
    assert events.put_events(Entries=[entry, entry])["FailedEntryCount"] == 0
    # When the template's EventBridgeRule has delivered them (asynchronously)
    api.stack.drain()
    # Then one claim right was granted (the interaction id makes the second delivery grant nothing)
    token = api.token(sample["detail"]["user_id"])
    assert claim(api, cid, token).status == 201
    assert claim(api, cid, token).code == "NO_INTERACTION"


@pytest.mark.usefixtures("schedules_held")  # the scheduled StartDueDraws shares this service
def test_scheduler_sweep_starts_due_draws(api: Api) -> None:
    from shared.campaigns.settings import CampaignSettings
    from shared.campaigns.wiring import campaign_service

    cid = create_campaign(api)["campaign_id"]
    service = campaign_service(CampaignSettings.load(api.stack.registry.environment("StartDueDrawsFunction")))
    started: list[str] = []

    class Starter:
        def start(self, campaign_id: str, reason: str) -> str:
            started.append(campaign_id)
            return "arn"

    assert service.start_due_draws(Starter()) == []
    original = service.clock
    service.clock = lambda: original() + __import__("datetime").timedelta(days=8)
    try:
        assert service.start_due_draws(Starter()) == [cid]
        assert service.start_due_draws(Starter()) == []  # listed once
    finally:
        service.clock = original
    assert started == [cid]
