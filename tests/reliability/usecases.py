"""Every writing use case of the platform, registered once: the crash, fault and coverage tests read this.

A use case names the functions whose AWS calls it crashes and a ``prepare`` that builds a fresh run (its own
users and objects). ``tests/reliability/test_registry.py`` fails while a function of the template that writes
(per ``tests/infra/dynamodb_access.yaml``) is neither the function of a registered use case nor listed in
``NOT_CRASH_TESTED`` with its reason: a new writing function is covered by adding one entry here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.conftest import Reply, User, new_key
from tests.reliability.harness import ApiRun, InvokeRun, Run, UseCase, World

REGISTRY: dict[str, UseCase] = {}


def use_case(name: str, *functions: str, long: bool = False, skip_checks: tuple[str, ...] = ()) -> Any:
    def register(prepare: Any) -> Any:
        REGISTRY[name] = UseCase(name, tuple(functions), prepare, long, skip_checks)
        return prepare
    return register


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


# --- ledger (SPEC §1) -------------------------------------------------------------------------------------------
@use_case("transfer", "CreateTransferFunction")
def transfer(world: World) -> Run:
    api = world.api
    payer, payee = api.user(balance=10_000), api.user()

    def after(reply: Reply) -> None:
        assert api.balance(payer) == 10_000 - 1_250 and api.balance(payee) == 1_250, "applied more than once"

    return ApiRun(world, "POST", "/transfers", {"to_account_id": payee.account_id, "amount": _money(1_250),
                                                "note": "lunch"}, payer.token, (201,), new_key(), after)


@use_case("deposit", "AdminDepositFunction")
def deposit(world: World) -> Run:
    api = world.api
    user = api.user()

    def after(reply: Reply) -> None:
        assert api.balance(user) == 5_000, "applied more than once"

    return ApiRun(world, "POST", f"/admin/accounts/{user.account_id}/deposits", {"amount": _money(5_000)},
                  world.admin(), (201,), new_key(), after)


def users(world: World, n: int, balance: int = 0) -> list[User]:
    return [world.api.user(f"rel-{uuid.uuid4().hex[:8]}", balance=balance) for _ in range(n)]


__all__ = ["REGISTRY", "InvokeRun", "users"]


# --- proxy-mode orders (SPEC §7) ---------------------------------------------------------------------------------
def _agent(world: World, balance: int = 10_000) -> User:
    from tests.proxy.conftest import Proxy

    return Proxy(world.api).agent(balance=balance)


def _order(world: World, user: User, type: str, amount: int) -> dict[str, Any]:
    from tests.proxy.conftest import Proxy

    return Proxy(world.api).order(user, type, amount)


def _order_status(world: World, user: User, order_id: str) -> str:
    reply = world.api.call("GET", f"/proxy-orders/{order_id}", token=user.token)
    assert reply.status == 200, reply.body
    return str(reply.body["status"])


@use_case("proxy create", "CreateProxyOrderFunction")
def proxy_create(world: World) -> Run:
    api = world.api
    user = api.user(balance=5_000)

    def after(reply: Reply) -> None:  # the withdrawal's hold taken once
        assert api.balance(user) == 3_000, "hold taken more than once"

    return ApiRun(world, "POST", "/proxy-orders", {"type": "WITHDRAW", "amount": _money(2_000), "proxy_mode": True},
                  user.token, (201,), new_key(), after)


@use_case("proxy execute", "ExecuteProxyOrderFunction")
def proxy_execute(world: World) -> Run:
    api = world.api
    user, agent = api.user(), _agent(world)
    order = _order(world, user, "TOP_UP", 2_500)

    def after(reply: Reply) -> None:
        assert api.balance(user) == 2_500 and api.balance(agent) == 7_500, "executed more than once"
        assert _order_status(world, user, order["order_id"]) == "EXECUTED"
        assert reply.body["order_id"] == order["order_id"], reply.body  # the receipt, first or replayed

    return ApiRun(world, "POST", "/proxy-orders/execute", {"code": order["code"], "proxy_account_id": agent.account_id},
                  agent.token, (200,), new_key(), after)


@use_case("proxy cancel", "CancelProxyOrderFunction")
def proxy_cancel(world: World) -> Run:
    api = world.api
    user = api.user(balance=5_000)
    order = _order(world, user, "WITHDRAW", 2_000)

    def after(reply: Reply) -> None:
        assert api.balance(user) == 5_000, "hold released more than once (or never)"
        assert _order_status(world, user, order["order_id"]) == "CANCELLED"
        assert reply.body["order_id"] == order["order_id"] and reply.body["status"] == "CANCELLED", reply.body

    return ApiRun(world, "POST", f"/proxy-orders/{order['order_id']}/cancel", None, user.token, (200,), new_key(),
                  after)


@use_case("proxy reversal request", "RequestProxyReversalFunction")
def proxy_reversal_request(world: World) -> Run:
    api = world.api
    user, agent = api.user(balance=5_000), _agent(world)
    order = _order(world, user, "WITHDRAW", 2_000)
    from tests.proxy.conftest import Proxy

    assert Proxy(api).execute(agent, order["code"]).status == 200

    def after(reply: Reply) -> None:
        queue = api.call("GET", "/admin/proxy-reversals", token=api.token("rel-reviewer", "reviewer")).body["items"]
        mine = [r for r in queue if r["order_id"] == order["order_id"]]
        assert len(mine) == 1, "requested more than once"
        assert reply.body["request_id"] == mine[0]["request_id"], reply.body  # the request, first or replayed

    return ApiRun(world, "POST", f"/proxy-orders/{order['order_id']}/reversal-requests", {"reason": "wrong amount"},
                  agent.token, (201,), new_key(), after)


@use_case("proxy reverse", "DecideProxyReversalFunction")
def proxy_reverse(world: World) -> Run:
    api = world.api
    user, agent = api.user(balance=5_000), _agent(world)
    order = _order(world, user, "WITHDRAW", 2_000)
    from tests.proxy.conftest import Proxy

    assert Proxy(api).execute(agent, order["code"]).status == 200
    created = api.call("POST", f"/proxy-orders/{order['order_id']}/reversal-requests", {"reason": "wrong amount"},
                       token=agent.token, key=new_key())
    assert created.status == 201, created.body

    def after(reply: Reply) -> None:
        assert api.balance(user) == 5_000 and api.balance(agent) == 10_000, "reversed more than once"
        assert _order_status(world, user, order["order_id"]) == "REVERSED"
        assert reply.body["status"] == "APPROVED" and reply.body["transaction_id"], reply.body

    return ApiRun(world, "POST", f"/admin/proxy-reversals/{created.body['request_id']}/decision",
                  {"approve": True, "note": "checked"}, api.token("rel-reviewer", "reviewer"), (200,), new_key(),
                  after)


@use_case("proxy expire", "ExpireProxyOrdersFunction", long=True)
def proxy_expire(world: World) -> Run:
    import time

    api = world.api
    spec = world.stack.registry.specs["CreateProxyOrderFunction"]
    saved = spec.environment.get("PROXY_CODE_TTL_SECONDS")
    spec.environment["PROXY_CODE_TTL_SECONDS"] = "1"
    try:
        user = api.user(balance=5_000)
        order = _order(world, user, "WITHDRAW", 2_000)
    finally:
        if saved is None:
            spec.environment.pop("PROXY_CODE_TTL_SECONDS")
        else:
            spec.environment["PROXY_CODE_TTL_SECONDS"] = saved
    time.sleep(1.1)

    def done(result: Any) -> None:
        assert _order_status(world, user, order["order_id"]) == "EXPIRED"
        assert api.balance(user) == 5_000, "hold released more than once (or never)"

    return InvokeRun(world, "ExpireProxyOrdersFunction", {}, done)


@use_case("proxy agent registration", "RegisterAgentFunction")
def proxy_register_agent(world: World) -> Run:
    user = world.api.user()

    def after(reply: Reply) -> None:
        agent = world.api.call("GET", "/agents/me", token=user.token)
        assert agent.status == 200, agent.body
        assert reply.body["account_id"] == user.account_id and reply.body["created_at"] == agent.body["created_at"]

    return ApiRun(world, "POST", "/admin/agents", {"account_id": user.account_id,
                                                   "limits": {"per_order": 5_000, "daily": 50_000}},
                  world.admin(), (201,), new_key(), after)


# --- accounts ----------------------------------------------------------------------------------------------------
@use_case("account registration", "RegisterAccountFunction")
def register_account(world: World) -> Run:
    sub = f"rel-{uuid.uuid4().hex[:8]}"
    token = world.api.token(sub)

    def after(reply: Reply) -> None:
        mine = world.api.call("GET", "/accounts/me", token=token)
        assert mine.status == 200, mine.body
        assert reply.body["account_id"] == mine.body["account_id"], reply.body  # the account, first or replayed

    return ApiRun(world, "POST", "/accounts", {}, token, (201,), new_key(), after)


# --- e-voucher campaigns and groups (SPEC §2) --------------------------------------------------------------------
EVEN = [{"kind": "FU", "weight": 1}, {"kind": "LU", "weight": 1}, {"kind": "SHOU", "weight": 1}]


def _campaign(world: World, fresh: bool = False) -> str:
    from tests.campaigns.helpers import create_campaign

    if fresh or "campaign" not in world.cache:
        world.cache["campaign"] = create_campaign(world.api, kinds=EVEN,
                                                  limits={"claims_per_day": 200, "passes_per_day": 50})["campaign_id"]
    return str(world.cache["campaign"])


def _interact(world: World, cid: str, sub: str) -> None:
    from tests.campaigns.helpers import interact

    reply = interact(world.api, cid, sub)
    assert reply.status == 201, reply.body


def _vouchers(world: World, cid: str, user: User) -> list[dict[str, Any]]:
    reply = world.api.call("GET", f"/campaigns/{cid}/vouchers", token=user.token)
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


@use_case("claim", "ClaimVoucherFunction")
def claim(world: World) -> Run:
    cid = _campaign(world)
    [user] = users(world, 1)
    _interact(world, cid, user.sub)
    _interact(world, cid, user.sub)  # two rights: a retry that claimed again would take a second voucher

    def after(reply: Reply) -> None:
        held = _vouchers(world, cid, user)
        assert len(held) == 1, "claimed more than once"
        assert reply.body["voucher"]["voucher_id"] == held[0]["voucher_id"], "the retry answered another voucher"

    return ApiRun(world, "POST", f"/campaigns/{cid}/claims", None, user.token, (201,), new_key(), after)


@use_case("pass", "PassVoucherFunction")
def pass_voucher(world: World) -> Run:
    from tests.campaigns.helpers import claim as claim_one

    cid = _campaign(world)
    [user] = users(world, 1)
    _interact(world, cid, user.sub)
    voucher = claim_one(world.api, cid, user.token).body["voucher"]["voucher_id"]

    def after(reply: Reply) -> None:
        assert not [v for v in _vouchers(world, cid, user) if v["status"] == "HELD"], "still held"
        assert reply.body["voucher_id"] == voucher and reply.body["status"] == "POOLED", reply.body

    return ApiRun(world, "POST", f"/campaigns/{cid}/vouchers/{voucher}/pass", None, user.token, (200,), new_key(),
                  after)


@use_case("key-user claim", "KeyUserClaimFunction")
def key_user_claim(world: World) -> Run:
    cid = _campaign(world)
    [user] = users(world, 1)
    group = world.api.call("POST", "/groups", {"name": "family", "campaign_id": cid}, token=user.token,
                           key=new_key())
    assert group.status == 201, group.body

    def after(reply: Reply) -> None:
        held = _vouchers(world, cid, user)
        assert [v["source"] for v in held] == ["KEY_USER"], "claimed more than once"
        assert reply.body["voucher"]["voucher_id"] == held[0]["voucher_id"], "the retry answered another voucher"

    return ApiRun(world, "POST", f"/campaigns/{cid}/key-user-claims", None, user.token, (201,), new_key(), after)


@use_case("interaction (internal route)", "RecordInteractionFunction")
def record_interaction(world: World) -> Run:
    from tests.campaigns.helpers import internal

    cid = _campaign(world)
    [user] = users(world, 1)
    body = {"user_id": user.sub, "interaction_type": "SCAN", "interaction_id": uuid.uuid4().hex}
    return ApiRun(world, "POST", f"/internal/campaigns/{cid}/interactions", body, internal(world.api), (200, 201))


@use_case("interaction (event consumer)", "InteractionCompletedFunction")
def interaction_completed(world: World) -> Run:
    from tests.events import load_event

    cid = _campaign(world)
    [user] = users(world, 1)
    event = load_event("campaigns/on_interaction_completed")
    event["id"] = str(uuid.uuid4())
    event["detail"] = {"campaign_id": cid, "user_id": user.sub, "interaction_type": "SCAN",
                       "interaction_id": uuid.uuid4().hex}

    def done(result: Any) -> None:
        reply = world.api.call("POST", f"/campaigns/{cid}/claims", token=user.token, key=new_key())
        assert reply.status == 201, reply.body  # the right was granted (once: the model tests count rights)

    return InvokeRun(world, "InteractionCompletedFunction", event, done)


@use_case("campaign creation", "CreateCampaignFunction")
def create_campaign(world: World) -> Run:
    from tests.campaigns.helpers import admin, campaign_body

    return ApiRun(world, "POST", "/admin/campaigns", campaign_body(kinds=EVEN), admin(world.api), (201,), new_key())


DRAW_STEPS = ("DrawFreezeFunction", "DrawSnapshotGroupsFunction", "DrawConsumeFunction", "DrawTallyFunction",
              "DrawPayFunction", "DrawSettleFunction")


@dataclass
class DrawRun:
    """The admin starts a draw; its steps (watched) run in the real state machine, which retries a crashed step
    with the same input (``Runtime.ExitError`` is in every Lambda task's Retry)."""

    world: World
    cid: str
    players: list[User]
    execution: dict[str, Any] | None = None

    def act(self) -> None:
        from tests.campaigns.helpers import admin

        started = self.world.api.call("POST", f"/admin/campaigns/{self.cid}/draw", token=admin(self.world.api),
                                      key=new_key())
        assert started.status == 202, started.body
        self.arn = started.body["execution_arn"]

    def recover(self) -> None:
        self.execution = self.world.stack.wait_execution(self.arn, timeout=120)

    def check(self) -> None:
        assert self.execution and self.execution["status"] == "SUCCEEDED", self.execution
        info = self.world.api.call("GET", f"/campaigns/{self.cid}", token=self.players[0].token).body
        assert info["status"] == "SETTLED", info
        for player in self.players:
            results = self.world.api.call("GET", f"/campaigns/{self.cid}/results", token=player.token).body
            assert results["total_sets"] >= 1, results


@use_case("draw steps", *DRAW_STEPS, long=True)
def draw_steps(world: World) -> Run:
    from tests.campaigns.test_draw import collect_sets

    cid = _campaign(world, fresh=True)
    players = users(world, 2)
    for player in players:
        collect_sets(world.api, cid, player)
    return DrawRun(world, cid, players)


@use_case("draw start", "StartDrawFunction")
def draw_start(world: World) -> Run:
    from tests.campaigns.helpers import admin

    cid = _campaign(world, fresh=True)

    def after(reply: Reply) -> None:
        world.stack.wait_execution(reply.body["execution_arn"], timeout=120)

    return ApiRun(world, "POST", f"/admin/campaigns/{cid}/draw", None, admin(world.api), (202,), new_key(), after)


def _group(world: World, owner: User) -> str:
    reply = world.api.call("POST", "/groups", {"name": "family", "campaign_id": _campaign(world)}, token=owner.token,
                           key=new_key())
    assert reply.status == 201, reply.body
    return str(reply.body["group_id"])


def _invitation(world: World, owner: User, gid: str) -> str:
    reply = world.api.call("POST", f"/groups/{gid}/invitations", token=owner.token, key=new_key())
    assert reply.status == 201, reply.body
    return str(reply.body["code"])


@use_case("group creation", "CreateGroupFunction")
def group_create(world: World) -> Run:
    [owner] = users(world, 1)
    cid = _campaign(world)

    def after(reply: Reply) -> None:  # the group, first or replayed, is the owner's one group in the campaign
        group = world.api.call("GET", f"/groups/{reply.body['group_id']}", token=owner.token)
        assert group.status == 200 and group.body["campaign_id"] == cid, group.body

    return ApiRun(world, "POST", "/groups", {"name": "family", "campaign_id": cid}, owner.token, (201,), new_key(),
                  after)


@use_case("group invitation", "CreateGroupInvitationFunction")
def group_invite(world: World) -> Run:
    [owner] = users(world, 1)
    return ApiRun(world, "POST", f"/groups/{_group(world, owner)}/invitations", None, owner.token, (201,), new_key())


@use_case("group join", "JoinGroupFunction")
def group_join(world: World) -> Run:
    owner, member = users(world, 2)
    gid = _group(world, owner)
    code = _invitation(world, owner, gid)

    def after(reply: Reply) -> None:
        assert reply.body["group_id"] == gid and member.sub in reply.body["members"], reply.body

    return ApiRun(world, "POST", "/groups/join", {"code": code}, member.token, (200,), new_key(), after)


@use_case("group leave", "LeaveGroupFunction")
def group_leave(world: World) -> Run:
    owner, member = users(world, 2)
    gid = _group(world, owner)
    joined = world.api.call("POST", "/groups/join", {"code": _invitation(world, owner, gid)}, token=member.token,
                            key=new_key())
    assert joined.status == 200, joined.body

    def after(reply: Reply) -> None:
        assert reply.body["group_id"] == gid, reply.body
        assert world.api.call("GET", f"/groups/{gid}", token=member.token).status == 404, "still a member"

    return ApiRun(world, "POST", f"/groups/{gid}/leave", None, member.token, (200,), new_key(), after)


# --- identity verification (SPEC §3) -----------------------------------------------------------------------------
IDENTITY_STEPS = ("ScoreIdentityFunction", "QueryRegistryFunction", "RecordOutcomeFunction")
DOCUMENT_STEPS = ("AwaitDocumentFunction", "CheckDocumentFunction", "OpenReviewFunction", "RecordOutcomeFunction",
                  "RequestIdentityDocumentUploadFunction", "SubmitIdentityDocumentFunction", "DecideReviewFunction")


def _identity(world: World) -> Any:
    from tests.identity.conftest import Identity

    if "identity" not in world.cache:
        world.cache["identity"] = Identity(world.api)
    return world.cache["identity"]


def done(driver: Any, who: Any, vid: str) -> None:
    """Ended: VERIFIED (one identity tag), or REJECTED because an earlier run of the test verified the same
    registry credential for another account (one account per credential); the execution SUCCEEDED either way."""
    body = driver.wait_status(who, vid, "VERIFIED", "REJECTED")
    assert driver.execution(vid)["status"] == "SUCCEEDED"
    if body["status"] == "REJECTED":
        assert body["reasons"][-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT", body
        assert driver.identities(who) == []
    else:
        assert len(driver.identities(who)) == 1


@use_case("identity start", "StartIdentityVerificationFunction")
def identity_start(world: World) -> Run:
    from tests.identity.conftest import CLAIM

    driver = _identity(world)
    who = driver.person()

    def after(reply: Reply) -> None:
        done(driver, who, reply.body["verification_id"])

    return ApiRun(world, "POST", "/identity-verifications", {"identity_type": "student", "claimed": CLAIM},
                  who.token, (202,), new_key(), after)


@dataclass
class ScriptRun:
    """A journey of several calls; each call is repeated (same key) until it is answered without a 5xx or an
    in-progress refusal, as a client app does, while the watched workflow steps crash and are retried."""

    world: World
    steps: list[Any]
    check_: Any

    def act(self) -> None:
        self.state: dict[str, Any] = {}

    def recover(self) -> None:
        import time

        from tests.reliability.harness import CRASH_TIMEOUT_S, MAX_RECOVERY_ATTEMPTS

        for step in self.steps:
            for _ in range(MAX_RECOVERY_ATTEMPTS):
                reply = step(self.state)
                if reply is None or (reply.status not in (502, 503) and reply.code != "REQUEST_IN_PROGRESS"):
                    break
                time.sleep(CRASH_TIMEOUT_S)
            else:
                raise AssertionError(f"a step never completed: {reply.status} {reply.body}")

    def check(self) -> None:
        self.check_(self.state)


@use_case("identity steps (model, registry)", *IDENTITY_STEPS)
def identity_steps(world: World) -> Run:
    driver = _identity(world)
    who = driver.person()
    key = new_key()

    def start(state: dict[str, Any]) -> Reply:
        from tests.identity.conftest import CLAIM

        reply: Reply = world.api.call("POST", "/identity-verifications",
                                      {"identity_type": "student", "claimed": CLAIM}, token=who.token, key=key)
        if reply.status == 202:
            state["vid"] = reply.body["verification_id"]
        return reply

    def check(state: dict[str, Any]) -> None:
        done(driver, who, state["vid"])

    return ScriptRun(world, [start], check)


@use_case("identity document and review", *DOCUMENT_STEPS, long=True)
def identity_documents(world: World) -> Run:
    from tests.identity.conftest import CLAIM

    driver = _identity(world)
    who = driver.person()
    keys = [new_key() for _ in range(4)]
    # a credential of its own per run: the clean run's approval verifies it, and a credential verified for one
    # account is refused for the next (CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT)
    credential = f"PKU{uuid.uuid4().int % 10**7:07d}"

    def start(state: dict[str, Any]) -> Reply:
        reply: Reply = world.api.call("POST", "/identity-verifications",
                                      {"identity_type": "student",
                                       "claimed": {**CLAIM, "name": "Li Hui", "student_number": credential}},
                                      token=who.token, key=keys[0])
        if reply.status == 202:
            state["vid"] = reply.body["verification_id"]
        return reply

    def upload(state: dict[str, Any]) -> Reply | None:
        driver.wait_status(who, state["vid"], "AWAITING_DOCUMENT")
        from tests.identity.documents import jpeg, photo

        ticket: Reply = world.api.call("POST", f"/identity-verifications/{state['vid']}/documents",
                                       {"content_type": "image/jpeg", "credential_number": credential},
                                       token=who.token, key=keys[1])
        if ticket.status != 201:
            return ticket
        # a picture of this run's own: the crash runs share one stack, and ~90 student cards of one template
        # (the perceptual hash's hard case) would meet near-duplicates from other runs' accounts
        resp = driver.post_form(ticket, jpeg(photo(state["vid"], (1012, 638))))
        assert resp.status_code in (200, 201, 204), resp.text
        return None

    def submit(state: dict[str, Any]) -> Reply:
        reply: Reply = world.api.call("POST", f"/identity-verifications/{state['vid']}/documents/submit", {},
                                      token=who.token, key=keys[2])
        return reply

    def decide(state: dict[str, Any]) -> Reply:
        if "review_id" not in state:  # a retry decides the same review (it is no longer in the open queue)
            driver.wait_status(who, state["vid"], "IN_REVIEW")
            state["review_id"] = driver.review_for(state["vid"])["review_id"]
        reply: Reply = world.api.call("POST", f"/reviews/{state['review_id']}/decision",
                                      {"decision": "APPROVE", "reason": "checked"}, token=driver.reviewer.token,
                                      key=keys[3])
        return reply

    def check(state: dict[str, Any]) -> None:
        body = driver.wait_status(who, state["vid"], "VERIFIED")
        assert body["path"] == ["model", "registry", "document", "review"], body
        assert driver.execution(state["vid"])["status"] == "SUCCEEDED"
        assert len(driver.identities(who)) == 1

    return ScriptRun(world, [start, upload, submit, decide], check)


# --- risk signals (issue 10): sign-ins, devices, watch-list tags ---------------------------------------------------
def _sign_in_body(device: str) -> dict[str, Any]:
    return {"device_id": device, "network": "WIFI", "client": {"os": "Android 14", "app_version": "3.2.1"}}


def _profile(world: World, user: User) -> dict[str, Any]:
    reply = world.api.call("GET", "/me/activity-profile", token=user.token)
    assert reply.status == 200, reply.body
    return dict(reply.body)


@use_case("signals sign-in", "CreateSessionFunction")
def sign_in(world: World) -> Run:
    [user] = users(world, 1)
    device = f"dev-{uuid.uuid4().hex[:12]}"

    def after(reply: Reply) -> None:
        profile = _profile(world, user)
        assert [(d["device_id"], d["sign_ins"]) for d in profile["devices"]] == [(device, 1)], (
            "signed in more than once", profile["devices"])

    return ApiRun(world, "POST", "/sessions", _sign_in_body(device), user.token, (201,), new_key(), after)


@use_case("signals forget device", "ForgetDeviceFunction")
def forget_device(world: World) -> Run:
    [user] = users(world, 1)
    device = f"dev-{uuid.uuid4().hex[:12]}"
    signed = world.api.call("POST", "/sessions", _sign_in_body(device), token=user.token, key=new_key())
    assert signed.status == 201, signed.body

    def after(reply: Reply) -> None:
        assert device not in [d["device_id"] for d in _profile(world, user)["devices"]]

    return ApiRun(world, "DELETE", f"/me/devices/{device}", None, user.token, (200,), new_key(), after)


@use_case("signals tag set", "SetUserTagFunction")
def tag_set(world: World) -> Run:
    [user] = users(world, 1)
    return ApiRun(world, "PUT", f"/admin/users/{user.sub}/tags/GREY", {"reason": "crash test"}, world.admin(),
                  (200,), new_key())


@use_case("signals tag clear", "ClearUserTagFunction")
def tag_clear(world: World) -> Run:
    [user] = users(world, 1)
    tagged = world.api.call("PUT", f"/admin/users/{user.sub}/tags/GREY", {"reason": "crash test"},
                            token=world.admin(), key=new_key())
    assert tagged.status == 200, tagged.body
    def after(reply: Reply) -> None:  # the clearing, first or replayed (no route shows the tags themselves)
        assert reply.body["tag"] == "GREY" and reply.body["cleared_by"] == "ops-admin", reply.body

    return ApiRun(world, "DELETE", f"/admin/users/{user.sub}/tags/GREY", {"reason": "crash test"}, world.admin(),
                  (200,), new_key(), after)


# --- adaptive verification (SPEC §4): triggers, codes, attempts, password, phone change, feedback -----------------
def _customer(world: World) -> tuple[User, str]:
    """A customer whose account records a phone (the SMS one-time code goes there)."""
    from local_stack import tokens

    sub, phone = f"rel-{uuid.uuid4().hex[:8]}", f"+86139{uuid.uuid4().int % 10**8:08d}"
    token = tokens.issue(sub, phone_number=phone)
    reply = world.api.call("POST", "/accounts", {}, token=token, key=new_key())
    assert reply.status == 201, reply.body
    return User(sub, token, reply.body["account_id"]), phone


def _trigger(world: World, user: User, operation: str = "ACCOUNT_UPDATE") -> str:
    reply = world.api.call("POST", "/verifications", {"operation": operation, "context": {
        "device_id": "rel-device-01", "network": "WIFI"}}, token=user.token, key=new_key())
    assert reply.status == 201 and reply.body["decision"] == "CHALLENGE", reply.body
    return str(reply.body["verification_id"])


def _code(world: World, phone: str) -> str:
    import json
    import urllib.request

    url = f"{world.api.base}/local/outbox?phone={urllib.request.quote(phone)}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        text = json.loads(resp.read())["messages"][0]["text"]
    return next(w for w in text.replace(".", " ").split() if w.isdigit() and len(w) == 6)


def _decisions(world: World, user: User) -> list[dict[str, Any]]:
    reply = world.api.call("GET", f"/admin/verification-decisions?user_id={user.sub}", token=world.admin())
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


def _update_token(world: World, user: User, phone: str) -> str:
    vid = _trigger(world, user)
    sent = world.api.call("POST", f"/verifications/{vid}/otp", {}, token=user.token, key=new_key())
    assert sent.status == 200, sent.body
    passed = world.api.call("POST", f"/verifications/{vid}/attempts", {"method": "SMS_OTP",
                                                                       "otp": _code(world, phone)},
                            token=user.token, key=new_key())
    assert passed.status == 200 and passed.body["result"] == "PASSED", passed.body
    return str(passed.body["token"])


@use_case("verification trigger", "CreateVerificationFunction")
def verification_trigger(world: World) -> Run:
    user, _ = _customer(world)

    def after(reply: Reply) -> None:
        assert len(_decisions(world, user)) == 1, "decided more than once"

    return ApiRun(world, "POST", "/verifications", {"operation": "ACCOUNT_UPDATE", "context": {
        "device_id": "rel-device-01", "network": "WIFI"}}, user.token, (201,), new_key(), after)


@use_case("verification otp", "SendVerificationOtpFunction")
def verification_otp(world: World) -> Run:
    user, _ = _customer(world)
    vid = _trigger(world, user)
    # a retry after the commit answers the send it made (recorded on the verification), sending nothing again
    def after(reply: Reply) -> None:
        assert reply.body["verification_id"] == vid and reply.body["tries_left"] == 5, reply.body

    return ApiRun(world, "POST", f"/verifications/{vid}/otp", {}, user.token, (200,), new_key(), after)


@use_case("verification attempt", "AttemptVerificationFunction")
def verification_attempt(world: World) -> Run:
    user, phone = _customer(world)
    vid = _trigger(world, user)
    sent = world.api.call("POST", f"/verifications/{vid}/otp", {}, token=user.token, key=new_key())
    assert sent.status == 200, sent.body

    def after(reply: Reply) -> None:  # PASSED (the retry of a committed pass: without its token, never re-issued)
        assert reply.body["result"] == "PASSED" and reply.body["token_expires_at"], reply.body
        got = world.api.call("GET", f"/verifications/{vid}", token=user.token)
        assert got.body["status"] == "PASSED", got.body

    return ApiRun(world, "POST", f"/verifications/{vid}/attempts", {"method": "SMS_OTP", "otp": _code(world, phone)},
                  user.token, (200,), new_key(), after)


@use_case("verification first use", "AttemptVerificationFunction")
def verification_first_use(world: World) -> Run:
    """A bank-bound customer's BINDING_FIRST_USE answered with the bound card: the verification passes and the
    first-use gate lifts, once (a retry after a crash between the two lifts it; after both, 409)."""
    from tests.fakes.bindings import CARD, BindingFixture

    user, _ = _customer(world)
    fixture = BindingFixture(world.stack)
    fixture.bind(user.sub, gated=True)
    vid = _trigger(world, user, "BINDING_FIRST_USE")

    def after(reply: Reply) -> None:
        got = world.api.call("GET", f"/verifications/{vid}", token=user.token)
        assert got.body["status"] == "PASSED", got.body
        assert not fixture.is_required(user.sub) and fixture.cleared_at(user.sub) is not None
        assert reply.body["result"] == "PASSED" and reply.body["gate_cleared"] is True, reply.body

    return ApiRun(world, "POST", f"/verifications/{vid}/attempts", {"method": "CARD", "card": CARD}, user.token,
                  (200,), new_key(), after)


@use_case("verification password", "SetPaymentPasswordFunction")
def verification_password(world: World) -> Run:
    user, _ = _customer(world)
    # the first password is put once with its request: a retry after the commit answers it (no token asked)
    def after(reply: Reply) -> None:
        assert reply.body["changed"] is False, reply.body

    return ApiRun(world, "PUT", "/me/payment-password", {"password": "862731"}, user.token, (200, 201), new_key(),
                  after)


@use_case("verification phone change", "UpdateMyAccountFunction")
def verification_phone_change(world: World) -> Run:
    user, phone = _customer(world)
    token = _update_token(world, user, phone)
    new_phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    def after(reply: Reply) -> None:  # the change the first run started (its token spent once), answered again
        assert reply.body["status"] == "CONFIRMATION_SENT" and reply.body["phone"].endswith(new_phone[-4:])

    return ApiRun(world, "PATCH", "/accounts/me", {"phone": new_phone}, user.token, (202,), new_key(), after,
                  headers={"X-Verification-Token": token})


@use_case("verification phone confirmation", "ConfirmPhoneChangeFunction")
def verification_phone_confirmation(world: World) -> Run:
    user, phone = _customer(world)
    token = _update_token(world, user, phone)
    new_phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    started = world.api.call("PATCH", "/accounts/me", {"phone": new_phone}, token=user.token, key=new_key(),
                             headers={"X-Verification-Token": token})
    assert started.status == 202, started.body

    def after(reply: Reply) -> None:
        assert reply.body["result"] == "PASSED" and reply.body["account"]["phone"].endswith(new_phone[-4:]), reply.body
        me = world.api.call("GET", "/accounts/me", token=user.token).body
        assert me["phone"].endswith(new_phone[-4:]), me

    return ApiRun(world, "POST", "/accounts/me/phone/confirmation", {"otp": _code(world, new_phone)}, user.token,
                  (200,), new_key(), after)


@use_case("verification feedback", "LabelVerificationDecisionFunction")
def verification_feedback(world: World) -> Run:
    user, _ = _customer(world)
    vid = _trigger(world, user)

    def after(reply: Reply) -> None:
        assert _decisions(world, user)[0]["label"] == "FRAUD"

    return ApiRun(world, "POST", f"/admin/verification-decisions/{vid}/feedback", {"label": "FRAUD", "note": "crash"},
                  world.admin(), (200,), new_key(), after)


# --- bank binding (SPEC §6): the admin's partner routes (plain API calls) -------------------------------------------
# The signed partner routes (a retry must be signed again: a replayed nonce is refused before idempotency) and the
# saga's steps are not here: the saga's failure at every step is tested by tests/binding/test_workflow.py.
def _partners(world: World, name: str) -> list[dict[str, Any]]:
    from shared.dynamo import from_item

    table = world.stack.template.physical_name("PartnersTable")
    items = world.stack.client("dynamodb").scan(TableName=table)["Items"]
    return [p for p in (from_item(i) for i in items) if p.get("entity") == "PARTNER" and p.get("name") == name]


def _partner(world: World) -> tuple[str, str]:
    name = f"Rel Bank {uuid.uuid4().hex[:8]}"
    reply = world.api.call("POST", "/admin/partners", {"name": name, "callback_url": "http://127.0.0.1:9/cb"},
                           token=world.admin(), key=new_key())
    assert reply.status == 201, reply.body
    return str(reply.body["partner_id"]), name


@use_case("binding partner create", "CreatePartnerFunction")
def partner_create(world: World) -> Run:
    name = f"Rel Bank {uuid.uuid4().hex[:8]}"

    def after(reply: Reply) -> None:  # one partner, the one answered (its secret shown once: null on a replay)
        assert [p["partner_id"] for p in _partners(world, name)] == [reply.body["partner_id"]], \
            "partner created more than once"

    return ApiRun(world, "POST", "/admin/partners", {"name": name, "callback_url": "http://127.0.0.1:9/cb"},
                  world.admin(), (201,), new_key(), after)


@use_case("binding partner key rotation", "RotatePartnerKeyFunction")
def partner_rotate(world: World) -> Run:
    partner_id, name = _partner(world)

    def after(reply: Reply) -> None:  # the first key and exactly one new one (the answered key)
        [partner] = _partners(world, name)
        assert len(partner["keys"]) == 2 and reply.body["key_id"] in partner["keys"], "rotated more than once"

    return ApiRun(world, "POST", f"/admin/partners/{partner_id}/keys", None, world.admin(), (201,), new_key(), after)


@use_case("binding partner suspension", "SuspendPartnerFunction")
def partner_suspend(world: World) -> Run:
    partner_id, name = _partner(world)

    def after(reply: Reply) -> None:
        [partner] = _partners(world, name)
        assert partner["status"] == "SUSPENDED" and partner["version"] == 2, "suspended more than once"

    return ApiRun(world, "POST", f"/admin/partners/{partner_id}/suspension", {"reason": "crash test"},
                  world.admin(), (200,), new_key(), after)


@use_case("binding partner reinstatement", "ReinstatePartnerFunction")
def partner_reinstate(world: World) -> Run:
    partner_id, name = _partner(world)
    suspended = world.api.call("POST", f"/admin/partners/{partner_id}/suspension", {"reason": "crash test"},
                               token=world.admin(), key=new_key())
    assert suspended.status == 200, suspended.body

    def after(reply: Reply) -> None:
        [partner] = _partners(world, name)
        assert partner["status"] == "ACTIVE" and partner["version"] == 3, "reinstated more than once"

    return ApiRun(world, "DELETE", f"/admin/partners/{partner_id}/suspension", None, world.admin(), (200,),
                  new_key(), after)


# --- real-name (SPEC §5): the liveness challenge (plain API call) --------------------------------------------------
@use_case("realname challenge", "CreateLivenessChallengeFunction")
def realname_challenge(world: World) -> Run:
    [user] = users(world, 1)

    def after(reply: Reply) -> None:  # the answered challenge exists, is the caller's and unused
        from shared.dynamo import from_item

        table = world.stack.template.physical_name("FaceTable")
        item = world.stack.client("dynamodb").get_item(
            TableName=table, Key={"pk": {"S": f"CHALLENGE#{reply.body['challenge_id']}"}}).get("Item")
        assert item is not None, "the answered challenge was not stored"
        stored = from_item(item)
        assert stored["user_id"] == user.sub and not stored.get("used_at")

    return ApiRun(world, "POST", "/real-name/challenges", None, user.token, (201,), new_key(), after)


# --- bank binding (SPEC §6): signed partner routes -------------------------------------------------------------------
@dataclass
class SignedApiRun(ApiRun):
    """A partner bank's request: every try is signed again (a new nonce: an exact replay is refused before
    idempotency), with the same Idempotency-Key, as a bank's client retries."""

    bank: Any = None

    def send(self) -> Reply:
        reply = self.bank.call(self.method, self.path, self.body, key=self.key)
        self.replies.append(reply)
        return reply


def _bank(world: World) -> Any:
    import base64

    from tests.binding.conftest import Bank

    reply = world.api.call("POST", "/admin/partners", {"name": f"Rel Bank {uuid.uuid4().hex[:8]}",
                                                       "callback_url": "http://127.0.0.1:9/cb"},
                           token=world.admin(), key=new_key())
    assert reply.status == 201, reply.body
    pid = reply.body["partner_id"]
    return Bank(world.api, pid, reply.body["key_id"], base64.b64decode(reply.body["secret"]),
                world.api.token(f"bank-{pid}", "partner", partner_id=pid), None)  # type: ignore[arg-type]


def _requests_of(world: World, partner_id: str, ref: str) -> list[dict[str, Any]]:
    from shared.dynamo import from_item

    items = world.stack.client("dynamodb").scan(TableName=world.stack.template.physical_name("BindingsTable"))["Items"]
    return [r for r in (from_item(i) for i in items)
            if r.get("entity") == "REQUEST" and r.get("partner_id") == partner_id and r.get("bank_customer_ref") == ref]


def _saga(world: World, request_id: str) -> dict[str, Any] | None:
    sfn = world.stack.client("stepfunctions")
    arn = world.stack.state_machine_arn("BindingStateMachine").replace(":stateMachine:", ":execution:")
    try:
        return dict(sfn.describe_execution(executionArn=f"{arn}:{request_id}"))
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


def _stop_saga(world: World, request_id: str) -> None:
    execution = _saga(world, request_id)
    if execution is not None and execution["status"] == "RUNNING":
        world.stack.client("stepfunctions").stop_execution(executionArn=execution["executionArn"], cause="crash test")


@use_case("binding request create", "CreateBindingRequestFunction")
def binding_request_create(world: World) -> Run:
    from tests.binding.conftest import card_token, id_number, phone

    bank, ref = _bank(world), f"cust-{uuid.uuid4().hex[:8]}"
    body = {"customer": {"phone": phone(), "name": "Li Hua", "id_number": id_number()},
            "card": {"token": card_token(), "last4": "1234", "type": "DEBIT"}, "bank_customer_ref": ref}

    def after(reply: Reply) -> None:  # one request, the one answered, and its saga started (once: named by it)
        rid = reply.body["binding_request_id"]
        assert [r["binding_request_id"] for r in _requests_of(world, bank.partner_id, ref)] == [rid], \
            "requested more than once"
        assert _saga(world, rid) is not None, "the request's saga was never started"
        _stop_saga(world, rid)

    # 200: a retry that re-ran the route after a crash past the commit answers the in-flight request (the route's
    # contract for a repeated request), 202 otherwise
    return SignedApiRun(world, "POST", "/partners/bindings", body, "", (202, 200), new_key(), after, bank=bank)


@use_case("binding confirmation", "ConfirmBindingFunction")
def binding_confirmation(world: World) -> Run:
    import time

    from tests.binding.conftest import card_token, phone

    bank, token = _bank(world), card_token()
    rid = bank.start(phone(), token)
    awaiting = bank.wait(rid, "AWAITING_BANK")

    def after(reply: Reply) -> None:  # one binding, and the saga resumed: BOUND (never compensated for a timeout)
        deadline = time.monotonic() + 30
        while (status := bank.get(rid).body["status"]) not in ("BOUND", "FAILED") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == "BOUND", f"the saga was not resumed: {status}"
        from shared.dynamo import from_item

        items = world.stack.client("dynamodb").scan(
            TableName=world.stack.template.physical_name("BindingsTable"))["Items"]
        bindings = [b for b in (from_item(i) for i in items)
                    if b.get("entity") == "BINDING" and b.get("binding_request_id") == rid]
        assert len(bindings) == 1 and bindings[0]["activated"], "bound more than once (or not at all)"

    return SignedApiRun(world, "POST", f"/partners/bindings/{rid}/confirmation",
                        {"account_id": awaiting["account_id"], "card_token": token}, "", (202,), new_key(), after,
                        bank=bank)


# --- bank binding (SPEC §6): the other signed partner routes and the user's unbind ---------------------------------
def _binding_items(world: World, entity: str) -> list[dict[str, Any]]:
    from shared.dynamo import from_item

    items = world.stack.client("dynamodb").scan(TableName=world.stack.template.physical_name("BindingsTable"))["Items"]
    return [i for i in (from_item(i) for i in items) if i.get("entity") == entity]


def _bindings_of(world: World, request_id: str) -> list[dict[str, Any]]:
    return [b for b in _binding_items(world, "BINDING") if b.get("binding_request_id") == request_id]


def _request(world: World, request_id: str) -> dict[str, Any]:
    [request] = [r for r in _binding_items(world, "REQUEST") if r["binding_request_id"] == request_id]
    return request


def _account(world: World, account_id: str) -> dict[str, Any]:
    from shared.dynamo import from_item

    ddb = world.stack.client("dynamodb")
    table = world.stack.template.physical_name("AccountsTable")
    item = ddb.get_item(TableName=table, Key={"pk": {"S": f"ACCOUNT#{account_id}"}}, ConsistentRead=True).get("Item")
    assert item is not None, f"account {account_id} missing"
    return from_item(item)


def _wait_request(world: World, bank: Any, request_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
    """The request once in one of ``statuses`` (read through the partner's signed GET, as the bank polls)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        reply = bank.get(request_id)
        if reply.status == 200 and reply.body["status"] in statuses:
            return dict(reply.body)
        assert time.monotonic() < deadline, f"binding request {request_id} still {reply.status} {reply.body}"
        time.sleep(0.05)


def _saga_done(world: World, request_id: str) -> dict[str, Any]:
    arn = world.stack.state_machine_arn("BindingStateMachine").replace(":stateMachine:", ":execution:")
    return world.stack.wait_execution(f"{arn}:{request_id}", 60)


def _assert_bound_once(world: World, request_id: str) -> None:
    """BOUND, one activated binding, its account ACTIVE with the first-use gate up for that binding."""
    request = _request(world, request_id)
    assert request["status"] == "BOUND", f"the saga did not bind: {request['status']} {request.get('reason')}"
    bindings = _bindings_of(world, request_id)
    assert len(bindings) == 1 and bindings[0]["activated"], f"bound {len(bindings)} times (or never activated)"
    account = _account(world, request["account_id"])
    assert account["status"] == "ACTIVE" and account.get("security_auth_required") == bindings[0]["binding_id"], \
        account


def _assert_compensated(world: World, request_id: str, reason: str) -> None:
    """FAILED with ``reason``, no binding left, the account this request opened closed."""
    request = _request(world, request_id)
    assert request["status"] == "FAILED" and request.get("reason") == reason, (request["status"],
                                                                             request.get("reason"))
    assert not _bindings_of(world, request_id), "a failed request left its binding (half-bound)"
    if request.get("created_account") and request.get("account_id"):
        assert _account(world, request["account_id"])["status"] == "CLOSED", "the opened account was not closed"


def _bank_with_callbacks(world: World) -> Any:
    """A partner bank whose callback URL answers (the signed callback is delivered)."""
    import base64

    from tests.binding.conftest import Bank, CallbackServer

    callbacks = CallbackServer().start()
    reply = world.api.call("POST", "/admin/partners", {"name": f"Rel Bank {uuid.uuid4().hex[:8]}",
                                                       "callback_url": callbacks.url},
                           token=world.admin(), key=new_key())
    assert reply.status == 201, reply.body
    pid = reply.body["partner_id"]
    return Bank(world.api, pid, reply.body["key_id"], base64.b64decode(reply.body["secret"]),
                world.api.token(f"bank-{pid}", "partner", partner_id=pid), callbacks)


def _existing_customer(world: World) -> tuple[str, str]:
    """A payment customer (account with a phone) the bank's request finds: (sub, phone)."""
    from local_stack import tokens
    from tests.binding.conftest import phone

    sub, number = f"rel-{uuid.uuid4().hex[:8]}", phone()
    reply = world.api.call("POST", "/accounts", {}, token=tokens.issue(sub, phone_number=number), key=new_key())
    assert reply.status == 201, reply.body
    return sub, number


@use_case("binding request read", "GetBindingRequestFunction")
def binding_request_read(world: World) -> Run:
    from tests.binding.conftest import card_token, phone

    bank = _bank(world)
    rid = bank.start(phone(), card_token())

    def after(reply: Reply) -> None:
        assert reply.body["binding_request_id"] == rid
        _stop_saga(world, rid)

    # a read (its only write is the signature's nonce): the bank polls again, signed again, no Idempotency-Key
    return SignedApiRun(world, "GET", f"/partners/bindings/{rid}", None, "", (200,), None, after, bank=bank)


@use_case("binding rejection", "RejectBindingFunction")
def binding_rejection(world: World) -> Run:
    from tests.binding.conftest import card_token, phone

    bank = _bank(world)
    rid = bank.start(phone(), card_token())
    bank.wait(rid, "AWAITING_BANK")

    def after(reply: Reply) -> None:  # the saga compensated once: FAILED BANK_REJECTED, the opened account closed
        assert reply.body["binding_request_id"] == rid
        _saga_done(world, rid)
        _assert_compensated(world, rid, "BANK_REJECTED")

    return SignedApiRun(world, "POST", f"/partners/bindings/{rid}/rejection", {"reason": "customer cancelled"}, "",
                        (202,), new_key(), after, bank=bank)


@use_case("binding unbind", "UnbindFunction")
def binding_unbind(world: World) -> Run:
    from tests.fakes.bindings import CARD, BindingFixture

    user, _ = _customer(world)
    binding = BindingFixture(world.stack).bind(user.sub)
    trig = world.api.call("POST", "/verifications", {"operation": "ACCOUNT_UPDATE", "context": {
        "device_id": "rel-device-01", "network": "WIFI"}}, token=user.token, key=new_key())
    assert trig.status == 201 and "CARD" in trig.body["methods"], trig.body
    passed = world.api.call("POST", f"/verifications/{trig.body['verification_id']}/attempts",
                            {"method": "CARD", "card": CARD}, token=user.token, key=new_key())
    assert passed.status == 200 and passed.body["result"] == "PASSED", passed.body

    def after(reply: Reply) -> None:  # unbound once: the binding UNBOUND, the user's list empty
        [stored] = [b for b in _binding_items(world, "BINDING") if b["binding_id"] == binding.binding_id]
        assert stored["status"] == "UNBOUND", stored["status"]
        assert world.api.call("GET", "/bindings", token=user.token).body["items"] == []

    # the token is spent in the unbind's transaction (a crash before it leaves both; after it, the retry with the
    # same Idempotency-Key finds its own unbinding and answers it again: 200, never BINDING_NOT_FOUND)
    return ApiRun(world, "DELETE", f"/bindings/{binding.binding_id}", None, user.token, (200,), new_key(), after,
                  headers={"X-Verification-Token": passed.body["token"]})


# --- bank binding (SPEC §6): the saga's steps, crashed inside a real execution ---------------------------------------
@dataclass
class SagaRun:
    """A bank's binding request driven to its end, as the bank does: request, wait for the account id (the bank
    polls), confirm (or reject), wait until the saga ends. The watched step crashes inside the real execution; the
    state machine's Retry runs it again (``statemachines/binding.asl.json``)."""

    world: World
    bank: Any
    phone: str
    reject: bool = False
    callback: bool = False
    """The bank waits for the signed callback (the account id) instead of polling for it."""
    request_id: str = ""

    def act(self) -> None:
        from tests.binding.conftest import card_token

        self.token = card_token()
        reply = self.bank.request(self.phone, self.token, key=new_key())
        assert reply.status == 202, reply.body
        self.request_id = str(reply.body["binding_request_id"])

    def _called_back(self, timeout: float = 60) -> dict[str, Any]:
        import json
        import time

        deadline = time.monotonic() + timeout
        while True:
            for sent in list(self.bank.callbacks.received):
                body = json.loads(sent["body"])
                if body["binding_request_id"] == self.request_id:
                    return dict(body)
            assert time.monotonic() < deadline, "the bank was never told the account id (no callback)"
            time.sleep(0.05)

    def recover(self) -> None:
        awaiting = (self._called_back() if self.callback else
                    _wait_request(self.world, self.bank, self.request_id, "AWAITING_BANK", "FAILED", "BOUND"))
        if awaiting["status"] == "AWAITING_BANK":
            reply = (self.bank.reject(self.request_id) if self.reject
                     else self.bank.confirm(self.request_id, awaiting["account_id"], self.token))
            assert reply.status == 202, reply.body
        self.execution = _saga_done(self.world, self.request_id)

    def check(self) -> None:
        if self.reject:
            _assert_compensated(self.world, self.request_id, "BANK_REJECTED")
        else:
            _assert_bound_once(self.world, self.request_id)
            assert self.execution["status"] == "SUCCEEDED", self.execution["status"]
        if self.bank.callbacks is not None:
            self.bank.callbacks.stop()


def _new_phone() -> str:
    from tests.binding.conftest import phone

    return phone()


@use_case("binding saga find account", "FindAccountFunction")
def saga_find_account(world: World) -> Run:
    _, number = _existing_customer(world)  # FOUND: the unverified identity recorded, the request advanced
    return SagaRun(world, _bank(world), number)


@use_case("binding saga register", "RegisterCustomerFunction")
def saga_register(world: World) -> Run:
    return SagaRun(world, _bank(world), _new_phone())


@use_case("binding saga await bank", "AwaitBankFunction")
def saga_await_bank(world: World) -> Run:
    return SagaRun(world, _bank(world), _new_phone())


@use_case("binding saga notify bank", "NotifyBankFunction")
def saga_notify_bank(world: World) -> Run:
    # the bank confirms with the account id of the signed callback (delivered at least once: a crash after the POST
    # repeats it, unless the bank's confirmation came first)
    return SagaRun(world, _bank_with_callbacks(world), _new_phone(), callback=True)


@use_case("binding saga activate", "ActivateBindingFunction")
def saga_activate(world: World) -> Run:
    return SagaRun(world, _bank(world), _new_phone())


@use_case("binding saga compensate", "CompensateBindingFunction")
def saga_compensate(world: World) -> Run:
    return SagaRun(world, _bank(world), _new_phone(), reject=True)


# --- real-name (SPEC §5): the face routes (sessions, confirmation, typed identity, enrolment) -----------------------
# Each run answers a fresh liveness challenge with the local frame generator (``local_stack/face_frames.py``, its
# frames cached per photo and step) and the handler runs the real face models: slow, so the default run takes a
# seeded sample of crash points (``test_crash_realname.py``) and ``make stress`` runs every one.
def _face_client(world: World) -> Any:
    """The real-name tests' client (challenges + generated frames, checked with the same models before sending)."""
    from tests.realname.conftest import FaceClient

    if "faces" not in world.cache:
        from shared.face.settings import FaceSettings
        from shared.face.wiring import face_service
        from training.face_data import ensure_photos

        photos = {name: path.read_bytes() for name, path in ensure_photos().items() if name == "obama"}
        world.cache["faces"] = FaceClient(world.api, photos, face_service(FaceSettings.from_env()))
    return world.cache["faces"]


def _realname_items(world: World, prefix: str) -> list[dict[str, Any]]:
    from tests.reliability.invariants import scan

    return scan(world.stack, world.stack.template.physical_name("RealNameTable"), prefix)


def _realname_customer(world: World, linked: bool = True) -> tuple[User, str]:
    """A customer and an authoritative identity of their own with the ``obama`` photo (a fresh ID number: a verified
    identity binds to one account); ``linked``: the identity is linked to the customer's phone (1:N proposes it),
    else the session asks for the typed identity. An earlier run's attempts with the same face are forgotten (they
    would make this one a batch-face risk). Returns the user and the identity's ID number."""
    from local_stack import tokens
    from local_stack.realname_demo import DemoIdentity, id_number, seed_authority

    ddb, table = world.stack.client("dynamodb"), world.stack.template.physical_name("RealNameTable")
    for item in _realname_items(world, "RECENTFACE#"):
        ddb.delete_item(TableName=table, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}})
    sub, number = f"rel-{uuid.uuid4().hex[:8]}", f"+86136{uuid.uuid4().int % 10**8:08d}"
    r = uuid.uuid4().int  # a birth date and sequence of its own (a collision would be "verified on another account")
    ident = id_number("110101", f"19{50 + r % 50}{1 + r // 50 % 12:02d}{1 + r // 600 % 28:02d}",
                      f"{r // 16800 % 1000:03d}")
    seed_authority(ddb, _face_client(world).photos, [DemoIdentity(
        f"auth-{uuid.uuid4().hex[:8]}", "obama", "Zhao Lei", ident, (number,) if linked else ())],
        table=world.stack.template.physical_name("IdentityAuthorityTable"))
    token = tokens.issue(sub, phone_number=number)
    reply = world.api.call("POST", "/accounts", {}, token=token, key=new_key())
    assert reply.status == 201, reply.body
    return User(sub, token, reply.body["account_id"]), ident


def _session_body(world: World, user: User) -> dict[str, Any]:
    return {**_face_client(world).live_proof(user.token, "obama"),
            "context": {"device_id": f"rel-dev-{uuid.uuid4().hex[:8]}", "network": "WIFI"}}


def _sessions_of(world: World, user: User) -> list[dict[str, Any]]:
    return [s for s in _realname_items(world, "SESSION#") if s.get("user_id") == user.sub]


def _verified_once(world: World, user: User) -> None:
    """One VERIFIED session, one real-name record for the user and one identity claim by them."""
    assert [s["status"] for s in _sessions_of(world, user)] == ["VERIFIED"], "not verified once"
    assert len(_realname_items(world, f"REALNAME#{user.sub}")) == 1, "no real-name record"
    claims = [c for c in _realname_items(world, "IDCLAIM#") if c.get("owner") == user.sub]
    assert len(claims) == 1, f"{len(claims)} identity claims"


@use_case("realname session", "CreateRealNameSessionFunction")
def realname_session(world: World) -> Run:
    user, _ = _realname_customer(world)

    def after(reply: Reply) -> None:  # one session, the one answered, proposing the linked identity
        sessions = _sessions_of(world, user)
        assert [s["pk"] for s in sessions] == [f"SESSION#{reply.body['session_id']}"], "more than one session"
        assert reply.body["status"] == "AWAITING_CONFIRMATION", reply.body

    return ApiRun(world, "POST", "/real-name/sessions", _session_body(world, user), user.token, (201,), new_key(),
                  after)


def _open_session(world: World, user: User) -> str:
    reply = world.api.call("POST", "/real-name/sessions", _session_body(world, user), token=user.token,
                           key=new_key())
    assert reply.status == 201, reply.body
    return str(reply.body["session_id"])


@use_case("realname confirmation", "ConfirmRealNameIdentityFunction")
def realname_confirmation(world: World) -> Run:
    user, _ = _realname_customer(world)
    session_id = _open_session(world, user)

    def after(reply: Reply) -> None:
        assert reply.body["status"] == "VERIFIED", reply.body
        _verified_once(world, user)

    return ApiRun(world, "POST", f"/real-name/sessions/{session_id}/confirmation", {"confirmed": True}, user.token,
                  (200,), new_key(), after)


@use_case("realname identity", "SubmitRealNameIdentityFunction")
def realname_identity(world: World) -> Run:
    user, ident = _realname_customer(world, linked=False)
    session_id = _open_session(world, user)  # no candidate: the session asks for the typed identity

    def after(reply: Reply) -> None:
        assert reply.body["status"] == "VERIFIED", reply.body
        _verified_once(world, user)

    return ApiRun(world, "POST", f"/real-name/sessions/{session_id}/identity", {"id_number": ident}, user.token,
                  (200,), new_key(), after)


@use_case("realname face enrolment", "EnrolFaceFunction")
def realname_enrolment(world: World) -> Run:
    [user] = users(world, 1)
    body = _face_client(world).live_proof(user.token, "obama")

    def after(reply: Reply) -> None:  # one enrolment, from this request's challenge
        [enrolment] = _face_items(world, f"ENROLMENT#{user.sub}")
        assert enrolment["challenge_id"] == body["liveness"]["challenge_id"] and reply.body["enrolled"]

    return ApiRun(world, "PUT", "/me/face", body, user.token, (200,), new_key(), after)


def _face_items(world: World, pk: str) -> list[dict[str, Any]]:
    from tests.reliability.invariants import scan

    return [i for i in scan(world.stack, world.stack.template.physical_name("FaceTable"), pk) if i["pk"] == pk]
