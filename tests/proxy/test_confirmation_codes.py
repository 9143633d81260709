"""The confirmation route names why there is nothing to confirm (issue 9 item 14).

Before: ``POST /proxy-orders/{id}/confirmation`` on a ``PENDING`` order answered ``ORDER_NOT_PENDING`` ("no longer
pending") although the order was pending. Now:

* confirmation step off (the default): ``409 CONFIRMATION_NOT_REQUIRED``;
* confirmation step on, no proxy has executed the order yet: ``409 NOT_AWAITING_CONFIRMATION``;
* an order that is closed (executed, cancelled, expired): ``409 ORDER_NOT_PENDING``, as before.
"""

from __future__ import annotations

import uuid

import pytest

from local_stack import LocalStack
from shared.proxy.errors import ConfirmationNotRequired, NotAwaitingConfirmation, OrderNotPending
from shared.proxy.models import OrderType
from tests.conftest import Api
from tests.proxy.conftest import Proxy
from tests.proxy.test_service_unit import World, cny


def test_confirming_a_pending_order_without_the_confirmation_step() -> None:
    w = World()
    w.account("alice", 5_000)
    order, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    with pytest.raises(ConfirmationNotRequired) as err:
        w.orders.confirm("alice", order.order_id, True)
    assert (err.value.code, err.value.details) == ("CONFIRMATION_NOT_REQUIRED", {"status": "PENDING"})


def test_confirming_before_a_proxy_executed_with_the_confirmation_step() -> None:
    w = World(proxy_confirmation_required=True)
    w.account("alice", 5_000)
    order, _ = w.orders.create("alice", OrderType.TOP_UP, cny(1_000), True)
    with pytest.raises(NotAwaitingConfirmation):
        w.orders.confirm("alice", order.order_id, True)
    w.orders.cancel("alice", order.order_id)
    with pytest.raises(OrderNotPending):  # closed: "no longer pending" is now the truth
        w.orders.confirm("alice", order.order_id, True)


def test_the_codes_over_http(api: Api, proxy: Proxy, clean_stack: LocalStack,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    user = api.user(balance=5_000)
    order = proxy.order(user, "TOP_UP", 1_000)
    path = f"/proxy-orders/{order['order_id']}/confirmation"
    reply = api.call("POST", path, {"approve": True}, token=user.token, key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (409, "CONFIRMATION_NOT_REQUIRED"), reply.body
    monkeypatch.setitem(clean_stack.registry.specs["ConfirmProxyOrderFunction"].environment,
                        "PROXY_CONFIRMATION_REQUIRED", "true")
    reply = api.call("POST", path, {"approve": True}, token=user.token, key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (409, "NOT_AWAITING_CONFIRMATION"), reply.body
    assert proxy.get(user, order["order_id"]).body["status"] == "PENDING" and api.balance(user) == 5_000
