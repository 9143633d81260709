"""Concurrency over HTTP on the local stack: one code vs 64 proxies; a mixed run keeps the ledger invariant."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local_stack import LocalStack
from tests.conftest import Api, User
from tests.proxy.conftest import Proxy, sum_balances


def ledger_transactions(stack: LocalStack, type: str) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items = ddb.scan(TableName="LedgerTable", FilterExpression="sk = :tx AND #t = :type",
                     ExpressionAttributeNames={"#t": "type"},
                     ExpressionAttributeValues={":tx": {"S": "TX"}, ":type": {"S": type}})["Items"]
    return list(items)


def test_64_concurrent_proxies_redeeming_one_code_execute_it_once(api: Api, proxy: Proxy,
                                                                  clean_stack: LocalStack) -> None:
    # Given a top-up code and 64 eligible proxies (friends with enough balance)
    user = api.user()
    with ThreadPoolExecutor(16) as pool:
        proxies: list[User] = list(pool.map(lambda _: api.user(balance=10_000), range(64)))
    code = proxy.order(user, "TOP_UP", 2_500)["code"]
    barrier = threading.Barrier(64)

    def redeem(p: User) -> tuple[int, str | None]:
        barrier.wait()
        reply = proxy.execute(p, code)
        return reply.status, reply.code

    # When all 64 redeem it at once
    with ThreadPoolExecutor(64) as pool:
        outcomes = Counter(pool.map(redeem, proxies))

    # Then exactly one executes, the rest get a clear 409, and one ledger transaction exists
    assert outcomes == Counter({(200, None): 1, (409, "ORDER_NOT_PENDING"): 63}), outcomes
    assert len(ledger_transactions(clean_stack, "PROXY_TOP_UP")) == 1
    assert api.balance(user) == 2_500
    assert sorted(api.balance(p) for p in proxies) == [7_500] + [10_000] * 63


@pytest.mark.usefixtures("schedules_held")  # the test counts its own sweeps
def test_mixed_concurrent_run_preserves_the_ledger_invariant(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Short-lived codes, and every fourth order of each worker left alone, so that some orders really expire.
    monkeypatch.setitem(clean_stack.registry.specs["CreateProxyOrderFunction"].environment,
                        "PROXY_CODE_TTL_SECONDS", "2")
    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda _: api.user(balance=20_000), range(10)))
        agents = list(pool.map(lambda _: proxy.agent(balance=20_000, per_order=10_000, daily=1_000_000), range(4)))
    total, _ = sum_balances(api)
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()

    def sweep() -> None:
        expired = clean_stack.invoke("ExpireProxyOrdersFunction", {})["expired"]
        with lock:
            statuses[("swept", 200)] += expired

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(12):
            user = rng.choice(users)
            kind = rng.choice(["TOP_UP", "WITHDRAW"])
            created = proxy.create(user, kind, rng.randint(1, 8_000))
            with lock:
                statuses[("create", created.status)] += 1
            if created.status != 201:
                continue
            action = 1.0 if i % 4 == 3 else rng.random()  # >= 0.75: left to expire
            if action < 0.5:  # an agent executes, sometimes twice
                for _ in range(rng.choice([1, 1, 2])):
                    reply = proxy.execute(rng.choice(agents), created.body["code"])
                    with lock:
                        statuses[("execute", reply.status)] += 1
            elif action < 0.75:
                reply = proxy.cancel(user, created.body["order_id"])
                with lock:
                    statuses[("cancel", reply.status)] += 1
            else:  # left to expire
                with lock:
                    statuses[("left", 0)] += 1
            if rng.random() < 0.1:
                sweep()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    time.sleep(2.1)
    sweep()

    # No 5xx; Σ balances unchanged; no negative customer/agent/platform balance; every hold released or paid.
    assert not [k for k in statuses if k[1] >= 500], statuses
    assert statuses[("execute", 200)] > 0 and statuses[("cancel", 200)] > 0
    after, rows = sum_balances(api)
    assert after == total
    assert all(balance >= 0 for _, balance, kind in rows if kind != "SETTLEMENT")
    holds = dict((a, b) for a, b, _ in rows)["sys_proxy_holds_CNY"]
    assert holds == 0
    executed = len(ledger_transactions(clean_stack, "PROXY_TOP_UP")) + len(
        ledger_transactions(clean_stack, "PROXY_WITHDRAWAL"))
    assert executed == statuses[("execute", 200)]
    held, released, paid = (len(ledger_transactions(clean_stack, t))
                            for t in ("PROXY_HOLD", "PROXY_HOLD_RELEASE", "PROXY_WITHDRAWAL"))
    assert held == released + paid
    # Some orders really expired, each swept once, and every order ended executed, cancelled or expired.
    orders = clean_stack.client("dynamodb").scan(
        TableName="ProxyOrdersTable", FilterExpression="entity = :o",
        ExpressionAttributeValues={":o": {"S": "PROXY_ORDER"}})["Items"]
    final = Counter(item["status"]["S"] for item in orders)
    assert statuses[("swept", 200)] == final["EXPIRED"] >= statuses[("left", 0)] > 0, (statuses, final)
    assert final["EXECUTED"] == executed and final["CANCELLED"] == statuses[("cancel", 200)]
    assert sum(final.values()) == final["EXECUTED"] + final["CANCELLED"] + final["EXPIRED"] == statuses[("create", 201)]


def test_cancel_racing_execute_settles_each_withdrawal_once(api: Api, proxy: Proxy, clean_stack: LocalStack) -> None:
    user, agent = api.user(balance=50_000), proxy.agent(balance=1_000)
    total, _ = sum_balances(api)
    orders = [proxy.order(user, "WITHDRAW", 1_000) for _ in range(10)]

    def race(order: dict[str, Any]) -> tuple[int, int]:
        barrier = threading.Barrier(2)

        def cancel() -> int:
            barrier.wait()
            return proxy.cancel(user, order["order_id"]).status

        def execute() -> int:
            barrier.wait()
            return proxy.execute(agent, order["code"]).status

        with ThreadPoolExecutor(2) as pool:
            c, e = pool.submit(cancel), pool.submit(execute)
            return c.result(), e.result()

    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(race, orders))
    assert all(sorted(r) == [200, 409] for r in results), results
    executed = sum(1 for _, e in results if e == 200)
    assert api.balance(agent) == 1_000 + 1_000 * executed
    assert api.balance(user) == 50_000 - 1_000 * executed
    _, rows = sum_balances(api)
    assert sum(b for _, b, _ in rows) == total and dict((a, b) for a, b, _ in rows)["sys_proxy_holds_CNY"] == 0
