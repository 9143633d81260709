"""Stateful property-based models: random sequences of operations, replays and crashes run against the real
services on the emulator and against a small pure-Python model; their states agree after every step.

* ``LedgerModel``: transfers (new ids and replays of earlier ids), deposits, and transfers whose process dies
  before or after the transaction was sent (``CrashAt``), then retried with the same id: balances equal the
  model's, every invariant holds (``@invariant``).
* ``ProxyOrderModel``: withdrawals created, executed, cancelled, replays of each, and crashes: the requester's,
  the agent's and the holds account's balances and each order's status equal the model's.

Default run: a bounded number of examples (``max_examples``, ``stateful_step_count``); ``make stress`` runs
many more (``RELIABILITY_EXAMPLES``).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
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
from tests.conftest import Api, User, new_key
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


def _retry(call: Any) -> None:
    import time

    from tests.reliability.harness import CRASH_TIMEOUT_S

    for _ in range(10):
        reply = call()
        if reply.status == 200 or reply.code == "ORDER_NOT_PENDING":
            return
        assert reply.status in (502, 503, 409), reply.body
        time.sleep(CRASH_TIMEOUT_S if reply.code == "REQUEST_IN_PROGRESS" else 0.05)
    raise AssertionError("never executed")


MODEL_SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def model_stack(clean_stack: LocalStack) -> Any:
    _STACK["stack"] = clean_stack
    clean_stack.registry.timeout_overrides["ExecuteProxyOrderFunction"] = 0.6
    with clean_stack.scheduler.paused():
        yield clean_stack
    clean_stack.registry.timeout_overrides.clear()
    invariants.check_all(clean_stack)


def test_ledger_model(model_stack: LocalStack) -> None:
    MODEL_SETTINGS(LedgerModel).TestCase().runTest()


def test_proxy_order_model(model_stack: LocalStack) -> None:
    MODEL_SETTINGS(ProxyOrderModel).TestCase().runTest()
