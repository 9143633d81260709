"""The same request retried after a crash between its commit and the idempotency record's completion answers what
its first run answered (Stripe's idempotency); another request finding the change still gets the conflict.

A request is named by its tag (``shared.api.idempotency.request_tag``: the caller and the ``Idempotency-Key``,
hashed); the services record it with the change they make (Given / When / Then, on the in-memory fakes)."""

from __future__ import annotations

import pytest

from shared.proxy.errors import AgentAlreadyExists, OrderNotPending, ReversalNotAllowed
from shared.proxy.models import OrderStatus, OrderType
from tests.proxy.test_service_unit import World, cny

FIRST, OTHER = "tag-of-the-first-request", "tag-of-another-request"


@pytest.fixture
def w() -> World:
    return World()


def test_agent_registration_retried_answers_the_agent(w: World) -> None:
    account = w.account("bob")
    first = w.agents.register_agent("admin", account, 5_000, 50_000, "Shop", FIRST)
    assert w.agents.register_agent("admin", account, 5_000, 50_000, "Shop", FIRST) == first
    assert w.events.types().count("ProxyAgentRegistered") == 1
    with pytest.raises(AgentAlreadyExists):
        w.agents.register_agent("admin", account, 5_000, 50_000, "Shop", OTHER)
    with pytest.raises(AgentAlreadyExists):  # no key, no replay
        w.agents.register_agent("admin", account, 5_000, 50_000, "Shop")


def test_execution_retried_answers_its_receipt_once(w: World) -> None:
    user = w.account("alice", 1_000)
    agent = w.agent("bob", 50_000)
    _order, code = w.orders.create("alice", OrderType.TOP_UP, cny(3_000), True)
    executed, tx = w.execution.execute("bob", code, agent, FIRST)
    again, tx_again = w.execution.execute("bob", code, agent, FIRST)
    assert (again, tx_again) == (executed, tx) and tx is not None
    assert (w.balance(user), w.balance(agent)) == (4_000, 47_000)
    with pytest.raises(OrderNotPending):
        w.execution.execute("bob", code, agent, OTHER)
    assert w.events.types().count("ProxyOrderExecuted") == 1


def test_execution_awaiting_confirmation_retried_answers_the_pending_order() -> None:
    w = World(proxy_confirmation_required=True)
    w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    _order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    pending, tx = w.execution.execute("bob", code, agent, FIRST)
    assert tx is None and w.execution.execute("bob", code, agent, FIRST) == (pending, None)
    with pytest.raises(OrderNotPending):
        w.execution.execute("bob", code, agent, OTHER)


def test_cancel_retried_answers_the_cancelled_order_and_releases_once(w: World) -> None:
    user = w.account("alice", 5_000)
    order, _code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    cancelled = w.orders.cancel("alice", order.order_id, FIRST)
    assert w.orders.cancel("alice", order.order_id, FIRST) == cancelled
    assert cancelled.status is OrderStatus.CANCELLED and w.balance(user) == 5_000
    with pytest.raises(OrderNotPending):
        w.orders.cancel("alice", order.order_id, OTHER)
    with pytest.raises(OrderNotPending):
        w.orders.cancel("alice", order.order_id)


def test_reversal_request_retried_answers_the_request(w: World) -> None:
    w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    w.execution.execute("bob", code, agent)
    first = w.reversals.request_reversal("bob", order.order_id, "wrong amount", FIRST)
    assert w.reversals.request_reversal("bob", order.order_id, "wrong amount", FIRST) == first
    assert w.events.types().count("ProxyReversalRequested") == 1
    with pytest.raises(ReversalNotAllowed) as err:
        w.reversals.request_reversal("bob", order.order_id, "wrong amount", OTHER)
    assert err.value.details["reason"] == "ALREADY_REQUESTED"
    # the same tag on another order names another request
    order2, code2 = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    w.execution.execute("bob", code2, agent)
    assert w.reversals.request_reversal("bob", order2.order_id, "again", FIRST).request_id != first.request_id


@pytest.mark.parametrize("approve", [True, False])
def test_reversal_decision_retried_answers_the_decision_once(w: World, approve: bool) -> None:
    user = w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    w.execution.execute("bob", code, agent)
    request = w.reversals.request_reversal("bob", order.order_id, "wrong amount")
    decided, tx = w.reversals.decide_reversal("rev", request.request_id, approve, "ok", FIRST)
    assert w.reversals.decide_reversal("rev", request.request_id, approve, "ok", FIRST) == (decided, tx)
    assert (tx is not None) is approve
    assert w.balance(user) == (5_000 if approve else 3_000)
    with pytest.raises(ReversalNotAllowed):
        w.reversals.decide_reversal("rev", request.request_id, approve, "ok", OTHER)
    with pytest.raises(ReversalNotAllowed):  # another decider with the same tag is another request
        w.reversals.decide_reversal("rev2", request.request_id, approve, "ok", FIRST)
