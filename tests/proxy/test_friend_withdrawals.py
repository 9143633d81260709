"""Friends may act as proxies for withdrawals too (issue 9 item 13).

A friend (a customer who is not a registered agent) who executes a withdrawal receives the held amount into
their own account (holds -> friend) and hands over the cash, within the friends' per-order limit (checked when
eligibility is decided) and daily limit (a usage counter in the execution's transaction, like an agent's).
``FriendWithdrawals=false`` keeps cash-out agent-only (``403 PROXY_NOT_ELIGIBLE WITHDRAWAL_REQUIRES_AGENT``).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_stack import LocalStack
from shared.proxy.errors import FriendLimitExceeded, OrderNotPending, ProxyNotEligible
from shared.proxy.models import OrderStatus, OrderType
from shared.proxy.services import holds_account_id
from tests.conftest import Api, User
from tests.proxy.conftest import Proxy, sum_balances
from tests.proxy.test_proxy_concurrency import ledger_transactions
from tests.proxy.test_service_unit import World, cny

HOLDS = holds_account_id("CNY")


# --- the rules, on fakes --------------------------------------------------------------------------------------
def test_a_friend_executes_a_withdrawal_into_their_own_account() -> None:
    w = World()
    user, friend = w.account("alice", 5_000), w.account("dave")
    _, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    executed, tx = w.execution.execute("dave", code, friend)
    assert executed.status is OrderStatus.EXECUTED and not executed.proxy_is_agent and tx is not None
    assert (tx.debit_account_id, tx.credit_account_id) == (HOLDS, friend)
    assert (w.balance(user), w.balance(friend), w.balance(HOLDS)) == (3_000, 2_000, 0)
    assert w.store.usage[f"friend#{friend}#{w.clock().date().isoformat()}"] == (2_000, 1)
    with pytest.raises(OrderNotPending):
        w.execution.execute("dave", code, friend)


def test_a_friends_per_order_limit_is_checked_before_anything_moves() -> None:
    w = World(proxy_friend_max_order_amount=1_000)
    user, friend = w.account("alice", 5_000), w.account("dave")
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(1_001), True)
    with pytest.raises(FriendLimitExceeded) as err:
        w.execution.execute("dave", code, friend)
    assert err.value.details == {"limit": "per_order", "maximum": 1_000}
    assert (w.balance(user), w.balance(friend), w.balance(HOLDS)) == (3_999, 0, 1_001)
    assert w.store.orders[order.order_id].status is OrderStatus.PENDING and w.store.usage.get(
        f"friend#{friend}#{w.clock().date().isoformat()}") is None


def test_a_friends_daily_limit_is_enforced_in_the_write() -> None:
    w = World(proxy_friend_max_order_amount=2_000, proxy_friend_daily_amount=3_000)
    w.account("alice", 10_000)
    friend = w.account("dave")
    _, first = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    second_order, second = w.orders.create("alice", OrderType.WITHDRAW, cny(1_500), True)
    w.execution.execute("dave", first, friend)
    with pytest.raises(FriendLimitExceeded) as err:
        w.execution.execute("dave", second, friend)
    assert err.value.details["limit"] == "daily"
    assert w.balance(friend) == 2_000 and w.store.orders[second_order.order_id].status is OrderStatus.PENDING
    # the next UTC day has a fresh allowance
    w.clock.advance(24 * 3600)
    _, third = w.orders.create("alice", OrderType.WITHDRAW, cny(1_500), True)
    assert w.execution.execute("dave", third, friend)[0].status is OrderStatus.EXECUTED


def test_friend_limits_do_not_apply_to_top_ups_or_agents() -> None:
    w = World(proxy_friend_max_order_amount=1_000, proxy_friend_daily_amount=1_000)
    w.account("alice", 10_000)
    friend, agent = w.account("dave", 5_000), w.agent("bob", 0, per_order=5_000, daily=10_000)
    _, top_up = w.orders.create("alice", OrderType.TOP_UP, cny(3_000), True)
    assert w.execution.execute("dave", top_up, friend)[0].status is OrderStatus.EXECUTED
    _, withdrawal = w.orders.create("alice", OrderType.WITHDRAW, cny(3_000), True)
    assert w.execution.execute("bob", withdrawal, agent)[0].status is OrderStatus.EXECUTED


def test_friend_withdrawals_off_keeps_cash_out_agent_only() -> None:
    w = World(proxy_friend_withdrawals=False)
    w.account("alice", 5_000)
    friend = w.account("dave")
    _, code = w.orders.create("alice", OrderType.WITHDRAW, cny(500), True)
    with pytest.raises(ProxyNotEligible) as err:
        w.execution.execute("dave", code, friend)
    assert err.value.details["reason"] == "WITHDRAWAL_REQUIRES_AGENT" and w.balance(friend) == 0


def test_with_confirmation_the_friends_usage_counts_when_the_requester_confirms() -> None:
    w = World(proxy_confirmation_required=True, proxy_friend_daily_amount=2_500)
    w.account("alice", 10_000)
    friend = w.account("dave")
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    assert w.execution.execute("dave", code, friend)[0].status is OrderStatus.AWAITING_CONFIRMATION
    assert w.balance(friend) == 0
    done, _ = w.orders.confirm("alice", order.order_id, True)
    assert done.status is OrderStatus.EXECUTED and w.balance(friend) == 2_000
    other, code2 = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    w.execution.execute("dave", code2, friend)
    with pytest.raises(FriendLimitExceeded):  # 2,000 + 1,000 > 2,500 for the day
        w.orders.confirm("alice", other.order_id, True)
    assert w.balance(friend) == 2_000


def test_two_friends_racing_one_code_on_fakes_execute_it_once() -> None:
    w = World()
    w.account("alice", 5_000)
    friends = [w.account(f"f{i}") for i in range(8)]
    _, code = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    barrier = threading.Barrier(len(friends))

    def redeem(i: int) -> str:
        barrier.wait()
        try:
            w.execution.execute(f"f{i}", code, friends[i])
            return "executed"
        except OrderNotPending:
            return "refused"

    with ThreadPoolExecutor(len(friends)) as pool:
        outcomes = Counter(pool.map(redeem, range(len(friends))))
    assert outcomes == Counter({"executed": 1, "refused": 7})
    assert sorted(w.balance(f) for f in friends) == [0] * 7 + [1_000] and w.balance(HOLDS) == 0


# --- over HTTP, on the local stack ----------------------------------------------------------------------------
def _env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for function in ("ExecuteProxyOrderFunction", "ConfirmProxyOrderFunction"):
        for name, value in values.items():
            monkeypatch.setitem(stack.registry.specs[function].environment, name, value)


def test_a_friend_withdrawal_over_http(api: Api, proxy: Proxy) -> None:
    user, friend = api.user(balance=5_000), api.user()
    total = sum_balances(api)[0]
    order = proxy.order(user, "WITHDRAW", 2_000)
    receipt = proxy.execute(friend, order["code"])
    assert receipt.status == 200, receipt.body
    assert receipt.body["status"] == "EXECUTED" and receipt.body["parties"]["proxy"]["is_agent"] is False
    assert (api.balance(user), api.balance(friend)) == (3_000, 2_000)
    assert sum_balances(api)[0] == total
    assert proxy.execute(friend, order["code"]).code == "ORDER_NOT_PENDING"


def test_friend_limits_over_http(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _env(clean_stack, monkeypatch, PROXY_FRIEND_MAX_ORDER_AMOUNT="1500", PROXY_FRIEND_DAILY_AMOUNT="2500")
    user, friend = api.user(balance=10_000), api.user()
    over = proxy.execute(friend, proxy.order(user, "WITHDRAW", 1_501)["code"])
    assert (over.status, over.code) == (409, "FRIEND_LIMIT_EXCEEDED")
    assert over.body["error"]["details"] == {"limit": "per_order", "maximum": 1_500}
    assert proxy.execute(friend, proxy.order(user, "WITHDRAW", 1_500)["code"]).status == 200
    daily = proxy.execute(friend, proxy.order(user, "WITHDRAW", 1_001)["code"])
    assert (daily.status, daily.code) == (409, "FRIEND_LIMIT_EXCEEDED") and daily.body["error"]["details"] == {
        "limit": "daily", "maximum": 2_500}
    assert api.balance(friend) == 1_500
    assert proxy.execute(friend, proxy.order(user, "WITHDRAW", 1_000)["code"]).status == 200  # exactly the limit


def test_friend_withdrawals_off_over_http(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _env(clean_stack, monkeypatch, PROXY_FRIEND_WITHDRAWALS="false")
    user, friend = api.user(balance=5_000), api.user(balance=100)
    reply = proxy.execute(friend, proxy.order(user, "WITHDRAW", 1_000)["code"])
    assert (reply.status, reply.code) == (403, "PROXY_NOT_ELIGIBLE")
    assert reply.body["error"]["details"]["reason"] == "WITHDRAWAL_REQUIRES_AGENT"
    assert api.balance(friend) == 100


def test_two_friends_racing_one_code_execute_it_once(api: Api, proxy: Proxy, clean_stack: LocalStack) -> None:
    user = api.user(balance=5_000)
    friends: list[User] = [api.user(), api.user()]
    code = proxy.order(user, "WITHDRAW", 1_200)["code"]
    barrier = threading.Barrier(2)

    def redeem(friend: User) -> tuple[int, str | None]:
        barrier.wait()
        reply = proxy.execute(friend, code, key=str(uuid.uuid4()))
        return reply.status, reply.code

    with ThreadPoolExecutor(2) as pool:
        outcomes = Counter(pool.map(redeem, friends))
    assert outcomes == Counter({(200, None): 1, (409, "ORDER_NOT_PENDING"): 1}), outcomes
    assert sorted(api.balance(f) for f in friends) == [0, 1_200]
    assert len(ledger_transactions(clean_stack, "PROXY_WITHDRAWAL")) == 1


def test_one_friend_racing_many_withdrawals_stays_within_the_daily_limit(api: Api, proxy: Proxy,
                                                                         clean_stack: LocalStack,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _env(clean_stack, monkeypatch, PROXY_FRIEND_DAILY_AMOUNT="3000")
    user, friend = api.user(balance=20_000), api.user()
    codes = [proxy.order(user, "WITHDRAW", 1_000)["code"] for _ in range(6)]
    barrier = threading.Barrier(len(codes))

    def redeem(code: str) -> tuple[int, str | None]:
        barrier.wait()
        reply = proxy.execute(friend, code)
        return reply.status, reply.code

    with ThreadPoolExecutor(len(codes)) as pool:
        outcomes = Counter(pool.map(redeem, codes))
    assert outcomes == Counter({(200, None): 3, (409, "FRIEND_LIMIT_EXCEEDED"): 3}), outcomes
    assert api.balance(friend) == 3_000
