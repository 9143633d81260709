"""In-memory ``ProxyStore`` with the DynamoDB store's write semantics (conditions, put-once, atomic commits).

Its write items are ``FakeWrite``s, so they commit atomically with a transfer on ``InMemoryLedgerStore``
(whose lock they share) exactly as the DynamoDB items do with ``TransactWriteItems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from shared.ledger.ports import ExtraItemRejected
from shared.proxy.errors import AgentAlreadyExists
from shared.proxy.models import (
    OPEN_STATUSES,
    Agent,
    AgentStatus,
    AgentUsage,
    ProxyOrder,
    ReversalRequest,
    ReversalStatus,
)
from shared.proxy.ports import Expiry
from tests.fakes.ledger import FakeWrite, InMemoryLedgerStore


class InMemoryProxyStore:
    def __init__(self, ledger: InMemoryLedgerStore) -> None:
        self.lock = ledger.lock
        self.orders: dict[str, ProxyOrder] = {}
        self.agents: dict[str, Agent] = {}
        self.usage: dict[str, tuple[int, int]] = {}  # key -> (amount, count)
        self.reversals: dict[str, ReversalRequest] = {}
        self.reads = 0  # every read, so tests can assert "no database read"

    # --- reads ----------------------------------------------------------------
    def get_order(self, order_id: str) -> ProxyOrder | None:
        self.reads += 1
        return self.orders.get(order_id)

    def get_agent(self, account_id: str) -> Agent | None:
        self.reads += 1
        return self.agents.get(account_id)

    def get_agent_usage(self, account_id: str, day: str) -> AgentUsage:
        self.reads += 1
        amount, count = self.usage.get(f"agent#{account_id}#{day}", (0, 0))
        return AgentUsage(account_id=account_id, day=day, amount=amount, count=count)

    def get_reversal(self, request_id: str) -> ReversalRequest | None:
        self.reads += 1
        return self.reversals.get(request_id)

    def list_due(self, now: int, limit: int) -> list[ProxyOrder]:
        self.reads += 1
        due = [o for o in self.orders.values() if o.status in OPEN_STATUSES and o.expires_at <= now]
        return sorted(due, key=lambda o: o.expires_at)[:limit]

    def list_agent_orders(self, account_id: str, day: str) -> list[ProxyOrder]:
        self.reads += 1
        rows = [o for o in self.orders.values() if o.proxy_account_id == account_id and o.executed_at
                and o.executed_at.date().isoformat() == day]
        return sorted(rows, key=lambda o: o.executed_at or o.created_at)

    def list_reversals(self, status: ReversalStatus, limit: int,
                       cursor: dict[str, str] | None) -> tuple[list[ReversalRequest], dict[str, str] | None]:
        self.reads += 1
        rows = sorted((r for r in self.reversals.values() if r.status == status), key=lambda r: r.created_at)
        if cursor:
            ids = [r.request_id for r in rows]
            last = cursor["pk"].removeprefix("REVERSAL#")
            rows = rows[ids.index(last) + 1:] if last in ids else []
        page = rows[:limit]
        return page, ({"pk": f"REVERSAL#{page[-1].request_id}"} if len(rows) > limit else None)

    # --- items ----------------------------------------------------------------
    def create_items(self, order: ProxyOrder, day: str, daily_limit: int) -> Sequence[Any]:
        def put() -> None:
            self.orders[order.order_id] = order

        return [FakeWrite(lambda: order.order_id not in self.orders, put),
                self._usage(f"user#{order.owner}#{day}", order.amount.amount, daily_limit)]

    def transition_items(self, before: ProxyOrder, after: ProxyOrder, now: int, expiry: Expiry) -> Sequence[Any]:
        def check() -> bool:
            current = self.orders.get(before.order_id)
            if current is None or current.status != before.status or current.version != before.version:
                return False
            if expiry == "unexpired":
                return current.expires_at > now
            if expiry == "expired":
                return current.expires_at <= now
            return True

        def commit() -> None:
            self.orders[after.order_id] = after

        return [FakeWrite(check, commit)]

    def agent_usage_items(self, agent: Agent, day: str, amount: int) -> Sequence[Any]:
        def active() -> bool:
            current = self.agents.get(agent.account_id)
            return current is not None and current.status is AgentStatus.ACTIVE

        return [FakeWrite(active, lambda: None), self._usage(f"agent#{agent.account_id}#{day}", amount, agent.daily)]

    def reversal_items(self, request: ReversalRequest, expect: Literal["new"] | ReversalRequest) -> Sequence[Any]:
        def check() -> bool:
            current = self.reversals.get(request.request_id)
            return current is None if expect == "new" else (current is not None and current.status == expect.status)

        def commit() -> None:
            self.reversals[request.request_id] = request

        return [FakeWrite(check, commit)]

    def _usage(self, key: str, amount: int, limit: int) -> FakeWrite:
        def check() -> bool:
            return self.usage.get(key, (0, 0))[0] <= limit - amount

        def commit() -> None:
            used, count = self.usage.get(key, (0, 0))
            self.usage[key] = (used + amount, count + 1)

        return FakeWrite(check, commit)

    def commit(self, items: Sequence[Any]) -> None:
        with self.lock:
            for index, item in enumerate(items):
                if not item.check():
                    raise ExtraItemRejected(index)
            for item in items:
                item.commit()

    def put_agent(self, agent: Agent) -> None:
        with self.lock:
            if agent.account_id in self.agents:
                raise AgentAlreadyExists(account_id=agent.account_id)
            self.agents[agent.account_id] = agent


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, detail))

    def types(self) -> list[str]:
        return [t for t, _ in self.events]
