"""Typed writes: every proxy write with a condition, when that condition fails, raises its own named domain error.

The same cases run on the in-memory fakes and on the DynamoDB repository through the local emulator, alone
(``ProxyStore.commit``) and inside a ledger transfer (``LedgerService.transfer(..., writes=...)``), where
nothing may move when a write is refused. Given / When / Then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from local_stack import LocalStack
from shared.errors import AlreadyExists, DomainError
from shared.ledger.models import Account
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import LedgerService
from shared.proxy.errors import (
    AgentAlreadyExists,
    AgentLimitExceeded,
    OrderLimitExceeded,
    OrderNotPending,
    ProxyCodeExpired,
    ProxyNotEligible,
    ProxyOrderNotFound,
    ReversalNotAllowed,
)
from shared.proxy.models import (
    Agent,
    AgentStatus,
    OrderStatus,
    OrderType,
    ProxyOrder,
    ReversalRequest,
    ReversalStatus,
)
from shared.proxy.ports import ProxyStore
from shared.proxy.repository import DynamoProxyStore
from shared.proxy.settings import ProxySettings
from shared.types import Money
from tests.fakes.ledger import InMemoryLedgerStore
from tests.proxy.fakes import InMemoryProxyStore

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
DAY = "2026-11-29"
SETTINGS = ProxySettings(accounts_table="AccountsTable", ledger_table="LedgerTable",
                         proxy_orders_table="ProxyOrdersTable", proxy_agents_table="ProxyAgentsTable")


@dataclass
class Stores:
    proxy: ProxyStore
    ledger: LedgerService

    def account(self, balance: int = 0) -> str:
        account_id = "acc_" + uuid.uuid4().hex[:12]
        self.ledger.store.create_account(Account(account_id=account_id, owner=account_id, currency="CNY",
                                                 created_at=NOW), unique_owner=True)
        if balance:
            self.ledger.issue("dep_" + account_id, account_id, Money(amount=balance, currency="CNY"), by="test")
        return account_id

    def balance(self, account_id: str) -> int:
        account = self.ledger.store.get_account(account_id)
        assert account is not None
        return account.balance


@pytest.fixture(params=["fakes", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "fakes":
        ledger_store = InMemoryLedgerStore()
        yield Stores(InMemoryProxyStore(ledger_store), LedgerService(ledger_store, SETTINGS.ledger))
        return
    stack: LocalStack = request.getfixturevalue("clean_stack")
    client = stack.client("dynamodb")
    ledger = LedgerService(DynamoLedgerStore(SETTINGS.accounts_table, SETTINGS.ledger_table, client), SETTINGS.ledger)
    yield Stores(DynamoProxyStore(SETTINGS.proxy_orders_table, SETTINGS.proxy_agents_table, client), ledger)


def order(owner: str = "alice", amount: int = 1_000, expires_at: int = T + 120, **changes: object) -> ProxyOrder:
    return ProxyOrder(order_id="po_" + uuid.uuid4().hex, type=OrderType.TOP_UP, status=OrderStatus.PENDING,
                      owner=owner, owner_account_id="acc_owner", amount=Money(amount=amount, currency="CNY"),
                      kid="k1", created_at=NOW, expires_at=expires_at).model_copy(update=changes)


def agent(status: AgentStatus = AgentStatus.ACTIVE, daily: int = 1_000) -> Agent:
    return Agent(account_id="acc_" + uuid.uuid4().hex[:12], owner="bob", status=status, per_order=daily,
                 daily=daily, registered_by="admin", created_at=NOW)


def reversal(order_id: str = "po_x") -> ReversalRequest:
    return ReversalRequest(request_id="prr_" + uuid.uuid4().hex, order_id=order_id, requested_by="alice",
                           reason="why", created_at=NOW)


def refused(call: Callable[[], object], error: type[DomainError]) -> DomainError:
    with pytest.raises(error) as caught:
        call()
    return caught.value


# --- each write alone -------------------------------------------------------------------------------------------
def test_order_put_once_is_already_exists(stores: Stores) -> None:
    o = order()
    stores.proxy.commit([stores.proxy.put_order(o)])
    err = refused(lambda: stores.proxy.commit([stores.proxy.put_order(o.next())]), AlreadyExists)
    assert err.details["order_id"] == o.order_id
    assert stores.proxy.get_order(o.order_id) == o


def test_requester_daily_usage_is_order_limit_exceeded(stores: Stores) -> None:
    stores.proxy.commit([stores.proxy.add_requester_usage(order(amount=600), DAY, 1_000)])
    err = refused(lambda: stores.proxy.commit([stores.proxy.add_requester_usage(order(amount=401), DAY, 1_000)]),
                  OrderLimitExceeded)
    assert err.details == {"limit": "daily", "maximum": 1_000}
    stores.proxy.commit([stores.proxy.add_requester_usage(order(amount=400), DAY, 1_000)])  # exactly the limit


def test_order_transition_names_why_the_order_cannot_change(stores: Stores) -> None:
    # not stored
    ghost = order()
    refused(lambda: stores.proxy.commit([stores.proxy.order_transition(ghost, ghost.next(), T, None)]),
            ProxyOrderNotFound)
    # already moved on (the stored version is newer): not pending, with the status it has now
    o = order()
    stores.proxy.commit([stores.proxy.put_order(o)])
    executed = o.next(status=OrderStatus.EXECUTED)
    stores.proxy.commit([stores.proxy.order_transition(o, executed, T, "unexpired")])
    err = refused(lambda: stores.proxy.commit([stores.proxy.order_transition(o, o.next(), T, "unexpired")]),
                  OrderNotPending)
    assert err.details == {"status": "EXECUTED"}
    # still open but past its expiry: the code expired
    late = order(expires_at=T - 1)
    stores.proxy.commit([stores.proxy.put_order(late)])
    err = refused(lambda: stores.proxy.commit(
        [stores.proxy.order_transition(late, late.next(status=OrderStatus.EXECUTED), T, "unexpired")]),
        ProxyCodeExpired)
    assert err.details == {"order_id": late.order_id}
    # the sweep's condition (expired) on an order that is not yet due
    fresh = order()
    stores.proxy.commit([stores.proxy.put_order(fresh)])
    refused(lambda: stores.proxy.commit(
        [stores.proxy.order_transition(fresh, fresh.next(status=OrderStatus.EXPIRED), T, "expired")]),
        OrderNotPending)
    assert stores.proxy.get_order(fresh.order_id) == fresh


def test_order_transition_with_the_operations_own_meaning(stores: Stores) -> None:
    o = order()
    stores.proxy.commit([stores.proxy.put_order(o)])
    stores.proxy.commit([stores.proxy.order_transition(o, o.next(reversal_request_id="prr_a"), T, None)])
    err = refused(lambda: stores.proxy.commit([stores.proxy.order_transition(
        o, o.next(reversal_request_id="prr_b"), T, None,
        on_failure=lambda: ReversalNotAllowed("The order changed; read it again.", reason="CONFLICT"))]),
        ReversalNotAllowed)
    assert err.details == {"reason": "CONFLICT"}


def test_agent_check_is_not_eligible_when_suspended_or_unknown(stores: Stores) -> None:
    suspended = agent(AgentStatus.SUSPENDED)
    stores.proxy.commit([stores.proxy.put_agent(suspended)])
    for who in (suspended, agent()):  # suspended; never registered
        err = refused(lambda who=who: stores.proxy.commit([stores.proxy.agent_active(who)]), ProxyNotEligible)
        assert err.details == {"reason": "AGENT_NOT_ACTIVE"}
    active = agent()
    stores.proxy.commit([stores.proxy.put_agent(active)])
    stores.proxy.commit([stores.proxy.agent_active(active)])


def test_agent_daily_usage_is_agent_limit_exceeded(stores: Stores) -> None:
    a = agent(daily=1_000)
    stores.proxy.commit([stores.proxy.add_agent_usage(a, DAY, 800)])
    err = refused(lambda: stores.proxy.commit([stores.proxy.add_agent_usage(a, DAY, 201)]), AgentLimitExceeded)
    assert err.details == {"limit": "daily", "maximum": 1_000}
    assert stores.proxy.get_agent_usage(a.account_id, DAY).amount == 800


def test_reversal_put_once_is_already_exists(stores: Stores) -> None:
    r = reversal()
    stores.proxy.commit([stores.proxy.put_reversal(r)])
    err = refused(lambda: stores.proxy.commit([stores.proxy.put_reversal(r)]), AlreadyExists)
    assert err.details == {"request_id": r.request_id}


def test_second_reversal_decision_is_not_allowed(stores: Stores) -> None:
    r = reversal()
    stores.proxy.commit([stores.proxy.put_reversal(r)])
    approved = r.model_copy(update={"status": ReversalStatus.APPROVED, "decided_by": "rev", "decided_at": NOW})
    stores.proxy.commit([stores.proxy.decide_reversal(approved, r)])
    rejected = r.model_copy(update={"status": ReversalStatus.REJECTED, "decided_by": "rev", "decided_at": NOW})
    err = refused(lambda: stores.proxy.commit([stores.proxy.decide_reversal(rejected, r)]), ReversalNotAllowed)
    assert err.details == {"reason": "ALREADY_DECIDED"}
    stored = stores.proxy.get_reversal(r.request_id)
    assert stored is not None and stored.status is ReversalStatus.APPROVED


def test_agent_put_once_is_agent_already_exists(stores: Stores) -> None:
    a = agent()
    stores.proxy.commit([stores.proxy.put_agent(a)])
    refused(lambda: stores.proxy.commit([stores.proxy.put_agent(a)]), AgentAlreadyExists)


# --- several writes, and writes with money ------------------------------------------------------------------------
def test_the_failing_write_names_the_error_and_nothing_is_written(stores: Stores) -> None:
    o = order(amount=700)
    stores.proxy.commit([stores.proxy.add_requester_usage(order(amount=700), DAY, 1_000)])
    refused(lambda: stores.proxy.commit([stores.proxy.put_order(o),
                                         stores.proxy.add_requester_usage(o, DAY, 1_000)]), OrderLimitExceeded)
    assert stores.proxy.get_order(o.order_id) is None


@pytest.mark.parametrize("case", ["order_gone", "agent_suspended", "agent_daily"])
def test_a_refused_write_in_a_transfer_moves_no_money(stores: Stores, case: str) -> None:
    payer, payee = stores.account(5_000), stores.account()
    o = order()
    stores.proxy.commit([stores.proxy.put_order(o)])
    a = agent(AgentStatus.SUSPENDED if case == "agent_suspended" else AgentStatus.ACTIVE, daily=1_000)
    stores.proxy.commit([stores.proxy.put_agent(a)])
    if case == "agent_daily":
        stores.proxy.commit([stores.proxy.add_agent_usage(a, DAY, 900)])
    executed = o.next(status=OrderStatus.EXECUTED)
    moving = order() if case == "order_gone" else o  # an order never stored, or the stored one
    writes = [stores.proxy.order_transition(moving, moving.next(status=OrderStatus.EXECUTED), T, "unexpired"),
              stores.proxy.agent_active(a), stores.proxy.add_agent_usage(a, DAY, o.amount.amount)]
    expected = {"order_gone": ProxyOrderNotFound, "agent_suspended": ProxyNotEligible,
                "agent_daily": AgentLimitExceeded}[case]
    refused(lambda: stores.ledger.transfer("pxe_" + uuid.uuid4().hex, payer, payee, o.amount, "PROXY_TOP_UP",
                                           writes=writes), expected)
    assert (stores.balance(payer), stores.balance(payee)) == (5_000, 0)
    assert stores.proxy.get_order(o.order_id) == o
    assert stores.proxy.get_agent_usage(a.account_id, DAY).amount == (900 if case == "agent_daily" else 0)
    # and with every condition holding, the same kind of transfer commits money and writes together
    if case == "agent_daily":
        fresh = agent(daily=10_000)
        stores.proxy.commit([stores.proxy.put_agent(fresh)])
        ok = [stores.proxy.order_transition(o, executed, T, "unexpired"), stores.proxy.agent_active(fresh),
              stores.proxy.add_agent_usage(fresh, DAY, o.amount.amount)]
        stores.ledger.transfer("pxe_" + uuid.uuid4().hex, payer, payee, o.amount, "PROXY_TOP_UP", writes=ok)
        assert (stores.balance(payer), stores.balance(payee)) == (4_000, 1_000)
        assert stores.proxy.get_order(o.order_id) == executed
        assert stores.proxy.get_agent_usage(fresh.account_id, DAY).amount == 1_000
