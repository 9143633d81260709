"""Done means: a user creates a top-up and a withdrawal, shows the QR, an agent executes each exactly once,
balances move correctly; forgery, replay, expiry and double execution are refused (local stack, over HTTP)."""

from __future__ import annotations

from tests.conftest import Api
from tests.proxy.conftest import Proxy, sum_balances


def test_top_up_and_withdrawal_through_an_agent(api: Api, proxy: Proxy) -> None:
    # Given a user with 100.00 and an agent with a 500.00 float
    user = api.user(balance=10_000)
    agent = proxy.agent(balance=50_000)
    total_before, _ = sum_balances(api)

    # When the user creates a top-up of 30.00 and the agent executes its code
    top_up = proxy.order(user, "TOP_UP", 3_000)
    assert top_up["status"] == "PENDING" and top_up["code"].startswith("P1.")
    receipt = proxy.execute(agent, top_up["code"])
    assert receipt.status == 200, receipt.body
    assert receipt.body["status"] == "EXECUTED" and receipt.body["transaction_id"]
    assert api.balance(user) == 13_000 and api.balance(agent) == 47_000
    # the receipt names both parties, masked
    parties = receipt.body["parties"]
    assert parties["requester"]["account_id"] == user.account_id[:4] + "****" + user.account_id[-4:]
    assert parties["proxy"]["display_name"] == "C*******"

    # And a withdrawal of 20.00: held at creation, paid to the agent at execution
    withdrawal = proxy.order(user, "WITHDRAW", 2_000)
    assert api.balance(user) == 11_000  # held
    receipt = proxy.execute(agent, withdrawal["code"])
    assert receipt.status == 200, receipt.body
    assert api.balance(user) == 11_000 and api.balance(agent) == 49_000

    # Then replays are refused and money moved exactly once
    again = proxy.execute(agent, withdrawal["code"])
    assert again.status == 409 and again.code == "ORDER_NOT_PENDING"
    assert api.balance(agent) == 49_000
    total_after, rows = sum_balances(api)
    assert total_after == total_before
    assert all(b >= 0 for _, b, kind in rows if kind != "SETTLEMENT")
    # both parties can read the order; the requester sees it executed
    assert proxy.get(user, top_up["order_id"]).body["status"] == "EXECUTED"
    assert proxy.get(agent, top_up["order_id"]).status == 200
