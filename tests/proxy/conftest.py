"""Helpers for the proxy-mode tests: agents, orders, executions over the local API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api, Reply, User


@dataclass
class Proxy:
    api: Api

    def admin(self) -> str:
        return self.api.token("ops-admin", "admin")

    def agent(self, balance: int = 0, per_order: int = 500_000, daily: int = 2_000_000,
              name: str | None = "Corner Shop") -> User:
        user = self.api.user(balance=balance)
        body: dict[str, Any] = {"account_id": user.account_id, "limits": {"per_order": per_order, "daily": daily}}
        if name:
            body["display_name"] = name
        reply = self.api.call("POST", "/admin/agents", body, token=self.admin(), key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        return user

    def create(self, user: User, type: str, amount: int, key: str | None = None, **extra: Any) -> Reply:
        body = {"type": type, "amount": {"amount": amount, "currency": "CNY"}, "proxy_mode": True, **extra}
        return self.api.call("POST", "/proxy-orders", body, token=user.token, key=key or str(uuid.uuid4()))

    def order(self, user: User, type: str, amount: int) -> dict[str, Any]:
        reply = self.create(user, type, amount)
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def execute(self, proxy: User, code: str, account_id: str | None = None, key: str | None = None) -> Reply:
        return self.api.call("POST", "/proxy-orders/execute",
                             {"code": code, "proxy_account_id": account_id or proxy.account_id},
                             token=proxy.token, key=key or str(uuid.uuid4()))

    def cancel(self, user: User, order_id: str) -> Reply:
        return self.api.call("POST", f"/proxy-orders/{order_id}/cancel", token=user.token, key=str(uuid.uuid4()))

    def get(self, user: User, order_id: str) -> Reply:
        return self.api.call("GET", f"/proxy-orders/{order_id}", token=user.token)


@pytest.fixture
def proxy(api: Api) -> Proxy:
    return Proxy(api)


def sum_balances(api: Api) -> tuple[int, list[tuple[str, int, str]]]:
    """Σ balances of every account (customer, agent, platform, settlement) straight from the Accounts table."""
    ddb = api.stack.client("dynamodb")
    rows: list[tuple[str, int, str]] = []
    kwargs: dict[str, Any] = {"TableName": "AccountsTable"}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            if item.get("entity", {}).get("S") == "ACCOUNT":
                rows.append((item["account_id"]["S"], int(item["balance"]["N"]), item["kind"]["S"]))
        if "LastEvaluatedKey" not in page:
            return sum(b for _, b, _ in rows), rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
