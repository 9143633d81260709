"""Stateful property-based models: random sequences of operations, replays and crashes run against the real
services on the emulator and against a small pure-Python model; their states agree after every step.

* ``LedgerModel``: transfers (new ids and replays of earlier ids), deposits, and transfers whose process dies
  before or after the transaction was sent (``CrashAt``), then retried with the same id: balances equal the
  model's, every invariant holds (``@invariant``).
* ``ProxyOrderModel``: withdrawals created, executed, cancelled, replays of each, and crashes: the requester's,
  the agent's and the holds account's balances and each order's status equal the model's.
* ``CampaignModel``: a voucher campaign (SPEC §2) over the API: interactions (new and replayed ids) grant claim
  rights, claims take from the pool first (a kind the claimant lacks, the most pooled; else the oldest) or issue,
  passes on into the pool, groups and key-user claims, the per-user limits (claims and passes per day, held per
  kind), replays with the same Idempotency-Key and claims whose process dies at a call then are retried with the
  same key, against ``CampaignSpec`` (the rules in a few dicts): each user's vouchers and rights, the pool,
  the issued total (≤ the budget: rights used + key-user claims) and "no voucher in two places" agree after
  every step.

Default run: a bounded number of examples (``max_examples``, ``stateful_step_count``); ``make stress`` runs
many more (``RELIABILITY_EXAMPLES``).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import seed as seed_
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from local_stack import LocalStack
from local_stack.faults import CrashAt, SimulatedCrash, intercept
from shared.errors import TemporarilyUnavailable
from shared.ledger.errors import InsufficientFunds
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import AccountService, LedgerService, settlement_account_id
from shared.ledger.settings import LedgerSettings
from shared.types import Money
from tests.conftest import Api, Reply, User, new_key
from tests.reliability import invariants

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "4"))
STEPS = int(os.environ.get("RELIABILITY_STEPS", "12"))
_STACK: dict[str, LocalStack] = {}


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


class LedgerModel(RuleBasedStateMachine):
    """The ledger service against a dict of balances and a set of applied transaction ids."""

    @initialize()
    def setup(self) -> None:
        self.stack = _STACK["stack"]
        settings_ = LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable")
        self.ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable"), settings_)
        self.accounts = AccountService(self.ledger)
        run = uuid.uuid4().hex[:6]
        self.ids = [self.accounts.register(f"model-{run}-{i}").account_id for i in range(3)]
        self.balance = dict.fromkeys(self.ids, 0)
        self.applied: dict[str, tuple[int, int, int]] = {}  # tx id -> (from, to, amount)

    def _apply(self, tx: str, src: int, dst: int, amount: int) -> None:
        """The model: a new id moves money if the payer has it; a known id moves nothing."""
        if tx in self.applied:
            return
        if self.balance[self.ids[src]] >= amount:
            self.balance[self.ids[src]] -= amount
            self.balance[self.ids[dst]] += amount
            self.applied[tx] = (src, dst, amount)

    def _transfer(self, tx: str, src: int, dst: int, amount: int) -> None:
        try:
            self.ledger.transfer(tx, self.ids[src], self.ids[dst], cny(amount), "MODEL")
        except InsufficientFunds:
            assert tx not in self.applied and self.balance[self.ids[src]] < amount
            return
        self._apply(tx, src, dst, amount)

    @rule(who=st.integers(0, 2), amount=st.integers(1, 5_000))
    def deposit(self, who: int, amount: int) -> None:
        self.accounts.deposit("model-admin", self.ids[who], cny(amount), new_key())
        self.balance[self.ids[who]] += amount

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 3_000))
    def transfer(self, src: int, dst: int, amount: int) -> None:
        if src != dst:
            self._transfer(f"m-{uuid.uuid4().hex}", src, dst, amount)

    @precondition(lambda self: bool(self.applied))
    @rule(data=st.data())
    def replay(self, data: Any) -> None:
        tx = data.draw(st.sampled_from(sorted(self.applied)))
        src, dst, amount = self.applied[tx]
        self._transfer(tx, src, dst, amount)  # the recorded transaction comes back; nothing moves

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 3_000),
          when=st.sampled_from(["before", "after"]))
    def crash_then_retry(self, src: int, dst: int, amount: int, when: str) -> None:
        if src == dst:
            return
        tx = f"m-{uuid.uuid4().hex}"
        crash = CrashAt(1, when, outside_functions=True, skip_operations=("GetItem", "Query", "Scan"))
        try:
            with intercept(crash):
                self.ledger.transfer(tx, self.ids[src], self.ids[dst], cny(amount), "MODEL")
        except SimulatedCrash:
            pass
        except (InsufficientFunds, TemporarilyUnavailable):
            pass
        self._transfer(tx, src, dst, amount)  # the caller retries with the same id

    @invariant()
    def balances_agree(self) -> None:
        stored = {a.account_id: a.balance for a in (self.ledger.store.get_account(i) for i in self.ids) if a}
        assert stored == self.balance

    @invariant()
    def money_is_conserved(self) -> None:
        settlement = self.ledger.store.get_account(settlement_account_id("CNY"))
        issued = -(settlement.balance if settlement else 0)
        assert issued >= sum(self.balance.values())


class ProxyOrderModel(RuleBasedStateMachine):
    """Withdrawal orders over the API against a model of balances and statuses."""

    @initialize()
    def setup(self) -> None:
        from tests.proxy.conftest import Proxy

        self.api = Api(_STACK["stack"])
        self.proxy = Proxy(self.api)
        self.user: User = self.api.user(balance=20_000)
        self.agent: User = self.proxy.agent(balance=0)
        self.model = {"user": 20_000, "agent": 0}
        self.orders: dict[str, dict[str, Any]] = {}  # order id -> {code, amount, status, key}

    @rule(amount=st.integers(1, 4_000))
    def create(self, amount: int) -> None:
        key = new_key()
        reply = self.proxy.create(self.user, "WITHDRAW", amount, key=key)
        if self.model["user"] < amount:
            assert reply.status == 409 and reply.code == "INSUFFICIENT_FUNDS", reply.body
            return
        assert reply.status == 201, reply.body
        again = self.proxy.create(self.user, "WITHDRAW", amount, key=key)  # a replay: the same order
        assert again.body["order_id"] == reply.body["order_id"]
        self.model["user"] -= amount
        self.orders[reply.body["order_id"]] = {"code": reply.body["code"], "amount": amount, "status": "PENDING"}

    def _pending(self) -> list[str]:
        return sorted(o for o, v in self.orders.items() if v["status"] == "PENDING")

    @precondition(lambda self: bool(self._pending()))
    @rule(data=st.data(), crash=st.sampled_from([None, "before", "after"]), k=st.integers(1, 6))
    def execute(self, data: Any, crash: str | None, k: int) -> None:
        oid = data.draw(st.sampled_from(self._pending()))
        key = new_key()
        with intercept(CrashAt(k, crash or "before", functions=["ExecuteProxyOrderFunction"])
                       if crash else CrashAt(10**6, "before")):
            self.proxy.execute(self.agent, self.orders[oid]["code"], key=key)
        _retry(lambda: self.proxy.execute(self.agent, self.orders[oid]["code"], key=key))
        self.orders[oid]["status"] = "EXECUTED"
        self.model["agent"] += self.orders[oid]["amount"]

    @precondition(lambda self: bool(self._pending()))
    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        oid = data.draw(st.sampled_from(self._pending()))
        reply = self.proxy.cancel(self.user, oid)
        assert reply.status == 200, reply.body
        self.orders[oid]["status"] = "CANCELLED"
        self.model["user"] += self.orders[oid]["amount"]

    @invariant()
    def states_agree(self) -> None:
        assert self.api.balance(self.user) == self.model["user"]
        assert self.api.balance(self.agent) == self.model["agent"]
        for oid, order in list(self.orders.items())[-3:]:
            status = self.proxy.get(self.user, oid).body["status"]
            assert status == order["status"], (oid, status, order)


KINDS = ("FU", "LU", "SHOU")
CAMPAIGN_LIMITS = {"claims_per_day": 3, "passes_per_day": 2, "held_per_kind": 2}
PLAYERS = 3


class CampaignSpec:
    """SPEC §2's rules for one campaign, in plain Python: what a call should answer and what it changes."""

    def __init__(self, players: list[str]) -> None:
        self.granted = dict.fromkeys(players, 0)
        self.used = dict.fromkeys(players, 0)
        self.claims = dict.fromkeys(players, 0)  # today (UTC); a run lasts seconds
        self.passes = dict.fromkeys(players, 0)
        self.held: dict[str, dict[str, tuple[str, str]]] = {p: {} for p in players}  # voucher -> (kind, source)
        self.pool: dict[str, list[str]] = {k: [] for k in KINDS}  # oldest first
        self.interactions: dict[str, str] = {}  # interaction id -> user
        self.groups: set[str] = set()  # key users
        self.key_claimed: set[str] = set()
        self.issued = 0
        self.age: dict[str, int] = {}  # pooled voucher -> the order it was passed in

    def held_of(self, user: str, kind: str) -> int:
        return sum(1 for k, _ in self.held[user].values() if k == kind)

    def allowed(self, user: str) -> list[str]:
        return [k for k in KINDS if self.held_of(user, k) < CAMPAIGN_LIMITS["held_per_kind"]]

    def claim_refusal(self, user: str) -> str | None:
        if self.used[user] >= self.granted[user]:
            return "NO_INTERACTION"
        if self.claims[user] >= CAMPAIGN_LIMITS["claims_per_day"]:
            return "CLAIMS_PER_DAY_EXCEEDED"
        if not self.allowed(user):
            return "HELD_PER_KIND_EXCEEDED"
        return None

    def pool_choice(self, user: str) -> tuple[str, str] | None:
        """(kind, voucher) the claim must take from the pool, or None when it must issue a new voucher."""
        allowed = self.allowed(user)
        present = [k for k in allowed if self.pool[k]]
        if not present:
            return None
        lacking = [k for k in present if self.held_of(user, k) == 0]
        if lacking:
            kind = min(lacking, key=lambda k: (-len(self.pool[k]), KINDS.index(k)))
        else:
            kind = min(present, key=lambda k: (self.age[self.pool[k][0]], KINDS.index(k)))
        return kind, self.pool[kind][0]

    def claimed(self, user: str, voucher: str, kind: str, source: str) -> None:
        if source == "POOL":
            self.pool[kind].remove(voucher)
        else:
            self.issued += 1
        self.used[user] += 1
        self.claims[user] += 1
        self.held[user][voucher] = (kind, source)

    def passed(self, user: str, voucher: str, order: int) -> None:
        kind, _ = self.held[user].pop(voucher)
        self.pool[kind].append(voucher)
        self.age[voucher] = order
        self.passes[user] += 1


def _retry(call: Any) -> None:
    import time

    from tests.reliability.harness import CRASH_TIMEOUT_S

    for _ in range(10):
        reply = call()
        if reply.status == 200:  # the first answer, or (after a crash past the commit) the same answer again
            return
        assert reply.status in (502, 503) or reply.code == "REQUEST_IN_PROGRESS", reply.body
        time.sleep(CRASH_TIMEOUT_S if reply.code == "REQUEST_IN_PROGRESS" else 0.05)
    raise AssertionError("never executed")


class CampaignModel(RuleBasedStateMachine):
    """One campaign over the local API against ``CampaignSpec``."""

    @initialize()
    def setup(self) -> None:
        from tests.campaigns.helpers import create_campaign, internal

        self.api = Api(_STACK["stack"])
        self.internal = internal(self.api)
        kinds = [{"kind": k, "weight": w} for k, w in zip(KINDS, (10, 5, 2), strict=True)]
        self.cid = str(create_campaign(self.api, kinds=kinds, limits=CAMPAIGN_LIMITS)["campaign_id"])
        run = uuid.uuid4().hex[:6]
        self.players = [f"cm-{run}-{i}" for i in range(PLAYERS)]
        self.tokens = {p: self.api.token(p) for p in self.players}
        self.spec = CampaignSpec(self.players)
        self.order = 0
        for who in range(PLAYERS):  # two rights each to start with: short runs reach claims, passes and the pool
            self.interact(who, replay=False)
            self.interact(who, replay=False)

    def _call(self, method: str, path: str, user: str, body: Any = None, key: str | None = None) -> Reply:
        return self.api.call(method, f"/campaigns/{self.cid}{path}", body, token=self.tokens[user], key=key)

    # --- flow 1: interactions --------------------------------------------------------------------------------------
    @rule(who=st.integers(0, PLAYERS - 1), replay=st.booleans())
    def interact(self, who: int, replay: bool) -> None:
        user = self.players[who]
        known = [i for i, u in self.spec.interactions.items() if u == user]
        iid = known[-1] if replay and known else uuid.uuid4().hex
        reply = self.api.call("POST", f"/internal/campaigns/{self.cid}/interactions",
                              {"user_id": user, "interaction_type": "SCAN", "interaction_id": iid},
                              token=self.internal)
        new = iid not in self.spec.interactions
        assert reply.status in (200, 201) and reply.body["granted"] is new, reply.body
        if new:
            self.spec.interactions[iid] = user
            self.spec.granted[user] += 1

    # --- flow 3: claims (pool first), replays, crashes -------------------------------------------------------------
    def _claimed(self, user: str, reply: Reply) -> None:
        expected = self.spec.claim_refusal(user)
        if expected is not None:
            assert reply.code == expected and reply.status in (409, 429), (expected, reply.status, reply.body)
            return
        assert reply.status == 201, reply.body
        voucher = reply.body["voucher"]
        choice = self.spec.pool_choice(user)
        if choice is None:
            assert voucher["source"] == "ISSUER", (voucher, self.spec.pool)
            assert voucher["kind"] in self.spec.allowed(user), (voucher, self.spec.held[user])
        else:
            assert voucher["source"] == "POOL" and (voucher["kind"], voucher["voucher_id"]) == choice, (voucher, choice)
        self.spec.claimed(user, voucher["voucher_id"], voucher["kind"], voucher["source"])

    @rule(who=st.integers(0, PLAYERS - 1), replays=st.integers(0, 1), interact_first=st.booleans())
    def claim(self, who: int, replays: int, interact_first: bool) -> None:
        user, key = self.players[who], new_key()
        if interact_first:
            self.interact(who, replay=False)
        reply = self._call("POST", "/claims", user, key=key)
        self._claimed(user, reply)
        for _ in range(replays):  # the same Idempotency-Key: the same answer, nothing used or taken again
            again = self._call("POST", "/claims", user, key=key)
            assert (again.status, again.body) == (reply.status, reply.body), (reply.body, again.body)

    @precondition(lambda self: any(self.spec.claim_refusal(p) is None for p in self.players))
    @rule(data=st.data(), k=st.integers(1, 6), when=st.sampled_from(["before", "after"]))
    def claim_crash_then_retry(self, data: Any, k: int, when: str) -> None:
        import time

        from tests.reliability.harness import CRASH_TIMEOUT_S

        user = data.draw(st.sampled_from([p for p in self.players if self.spec.claim_refusal(p) is None]))
        key = new_key()
        with intercept(CrashAt(k, when, functions=["ClaimVoucherFunction"])):
            reply = self._call("POST", "/claims", user, key=key)
        for _ in range(10):  # the client retries with the same key until it has an answer
            if reply.status not in (502, 503) and reply.code != "REQUEST_IN_PROGRESS":
                break
            time.sleep(CRASH_TIMEOUT_S if reply.code == "REQUEST_IN_PROGRESS" else 0.05)
            reply = self._call("POST", "/claims", user, key=key)
        self._claimed(user, reply)

    # --- flow 2: pass on -------------------------------------------------------------------------------------------
    def _passable(self) -> list[tuple[str, str]]:
        return sorted((u, v) for u, held in self.spec.held.items() for v, (_, src) in held.items() if src != "KEY_USER")

    @precondition(lambda self: bool(self._passable()))
    @rule(data=st.data(), replays=st.integers(0, 1), not_held=st.booleans())
    def pass_on(self, data: Any, replays: int, not_held: bool) -> None:
        user, voucher = data.draw(st.sampled_from(self._passable()))
        if not_held:
            self.pass_not_held(user, data)
        key = new_key()
        reply = self._call("POST", f"/vouchers/{voucher}/pass", user, key=key)
        if self.spec.passes[user] >= CAMPAIGN_LIMITS["passes_per_day"]:
            assert reply.code == "PASSES_PER_DAY_EXCEEDED", reply.body
            return
        assert reply.status == 200 and reply.body["voucher_id"] == voucher, reply.body
        self.order += 1
        self.spec.passed(user, voucher, self.order)
        for _ in range(replays):
            again = self._call("POST", f"/vouchers/{voucher}/pass", user, key=key)
            assert (again.status, again.body) == (reply.status, reply.body), (reply.body, again.body)

    def pass_not_held(self, user: str, data: Any) -> None:
        """Someone else's voucher, or one in the pool: refused, nothing moves."""
        others = sorted([v for u, h in self.spec.held.items() if u != user for v in h]
                        + [v for vs in self.spec.pool.values() for v in vs])
        if others:
            voucher = data.draw(st.sampled_from(others))
            reply = self._call("POST", f"/vouchers/{voucher}/pass", user, key=new_key())
            assert reply.status == 404 and reply.code == "VOUCHER_NOT_FOUND", reply.body

    # --- flow 4: groups and key users ------------------------------------------------------------------------------
    def create_group(self, user: str) -> None:
        reply = self.api.call("POST", "/groups", {"name": "family", "campaign_id": self.cid},
                              token=self.tokens[user], key=new_key())
        if user in self.spec.groups:
            assert reply.status == 409 and reply.code == "ALREADY_IN_GROUP", reply.body
            return
        assert reply.status == 201, reply.body
        self.spec.groups.add(user)

    @precondition(lambda self: len(self.spec.key_claimed) < PLAYERS)
    @rule(data=st.data(), group_first=st.booleans(), replays=st.integers(0, 1))
    def key_user_claim(self, data: Any, group_first: bool, replays: int) -> None:
        """A group created first (its creator becomes a key user; a second group is refused), then the claim; a
        second claim (another key) is refused."""
        user, key = data.draw(st.sampled_from([p for p in self.players if p not in self.spec.key_claimed])), new_key()
        if group_first:
            self.create_group(user)
        reply = self._call("POST", "/key-user-claims", user, key=key)
        if user not in self.spec.groups:
            assert reply.status == 403 and reply.code == "NOT_KEY_USER", reply.body
        elif user in self.spec.key_claimed:
            assert reply.status == 409 and reply.code == "KEY_USER_ALREADY_CLAIMED", reply.body
        elif not self.spec.allowed(user):
            assert reply.code == "HELD_PER_KIND_EXCEEDED", reply.body
        else:
            assert reply.status == 201, reply.body
            voucher = reply.body["voucher"]
            assert voucher["source"] == "KEY_USER" and voucher["group_id"], voucher
            assert voucher["kind"] in self.spec.allowed(user), (voucher, self.spec.held[user])
            self.spec.key_claimed.add(user)
            self.spec.issued += 1
            self.spec.held[user][voucher["voucher_id"]] = (voucher["kind"], "KEY_USER")
            second = self._call("POST", "/key-user-claims", user, key=new_key())
            assert second.status == 409 and second.code == "KEY_USER_ALREADY_CLAIMED", second.body
        for _ in range(replays):
            again = self._call("POST", "/key-user-claims", user, key=key)
            assert (again.status, again.body) == (reply.status, reply.body), (reply.body, again.body)

    # --- the states agree after every step ---------------------------------------------------------------------------
    @invariant()
    def states_agree(self) -> None:
        if not hasattr(self, "spec"):
            return
        for user in self.players:
            reply = self._call("GET", "/vouchers", user)
            assert reply.status == 200, reply.body
            stored = {v["voucher_id"]: (v["kind"], v["source"]) for v in reply.body["items"] if v["status"] == "HELD"}
            assert stored == self.spec.held[user], (user, stored, self.spec.held[user])
        info = self._call("GET", "", self.players[0]).body
        assert info["pool"] == {k: len(v) for k, v in self.spec.pool.items()}, (info["pool"], self.spec.pool)
        assert info["issued"] == self.spec.issued, (info["issued"], self.spec.issued)
        assert self.spec.issued <= sum(self.spec.used.values()) + len(self.spec.key_claimed), "issued over budget"
        items = invariants.scan(_STACK["stack"], "CampaignsTable", pk_prefix=f"C#{self.cid}")
        states = {str(i["user_id"]): i for i in items if i.get("sk") == "#STATE"}
        for user in self.players:
            state = states.get(user, {})
            assert (int(state.get("rights_granted", 0)), int(state.get("rights_used", 0))) == (
                self.spec.granted[user], self.spec.used[user]), (user, state)
        places = [v for h in self.spec.held.values() for v in h] + [v for vs in self.spec.pool.values() for v in vs]
        assert len(places) == len(set(places)) == self.spec.issued, "a voucher in two places, or one lost"
        invariants.vouchers(_STACK["stack"], items)


MODEL_SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def model_stack(clean_stack: LocalStack) -> Any:
    _STACK["stack"] = clean_stack
    clean_stack.registry.timeout_overrides["ExecuteProxyOrderFunction"] = 0.6
    clean_stack.registry.timeout_overrides["ClaimVoucherFunction"] = 0.6
    with clean_stack.scheduler.paused():
        yield clean_stack
    clean_stack.registry.timeout_overrides.clear()
    invariants.check_all(clean_stack)


def test_ledger_model(model_stack: LocalStack) -> None:
    MODEL_SETTINGS(LedgerModel).TestCase().runTest()


def test_proxy_order_model(model_stack: LocalStack) -> None:
    MODEL_SETTINGS(ProxyOrderModel).TestCase().runTest()


def test_campaign_model(model_stack: LocalStack) -> None:
    settings(MODEL_SETTINGS, stateful_step_count=STEPS + STEPS // 3)(CampaignModel).TestCase().runTest()


@pytest.mark.stress
@pytest.mark.parametrize("seed", range(8))
def test_campaign_model_many_seeds(model_stack: LocalStack, seed: int) -> None:
    """``make stress``: many more examples and steps, a different seed each (derandomized runs repeat one)."""
    stress = settings(MODEL_SETTINGS, max_examples=max(EXAMPLES, 25), stateful_step_count=max(STEPS, 30),
                      derandomize=False)
    seed_(seed)(stress(CampaignModel)).TestCase().runTest()
