"""In-memory ``ProxyStore`` with the DynamoDB store's write semantics (conditions, put-once, atomic commits).

Its guarded writes are ``GuardedWrite``s of ``FakeWrite``s carrying the same domain errors as the DynamoDB
store's, so they commit atomically with a transfer on ``InMemoryLedgerStore`` (whose lock they share) exactly
as the DynamoDB items do with ``TransactWriteItems``, and a failed condition raises the write's own error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.errors import AlreadyExists
from shared.outbox import DuplicateEvent, OutboxEvent
from shared.proxy.errors import (
    AgentAlreadyExists,
    AgentLimitExceeded,
    FriendLimitExceeded,
    OrderLimitExceeded,
    ProxyNotEligible,
    ReversalNotAllowed,
)
from shared.proxy.models import (
    OPEN_STATUSES,
    Agent,
    AgentStatus,
    AgentUsage,
    ProxyOrder,
    ReversalRequest,
    ReversalStatus,
)
from shared.proxy.ports import ErrorFactory, Expiry
from shared.proxy.repository import order_refusal
from shared.writes import GuardedWrite
from tests.fakes.ledger import FakeWrite, InMemoryLedgerStore, check_all, commit_all


class InMemoryProxyStore:
    def __init__(self, ledger: InMemoryLedgerStore) -> None:
        self.lock = ledger.lock
        self.orders: dict[str, ProxyOrder] = {}
        self.agents: dict[str, Agent] = {}
        self.usage: dict[str, tuple[int, int]] = {}  # key -> (amount, count)
        self.reversals: dict[str, ReversalRequest] = {}
        self.reads = 0  # every read, so tests can assert "no database read"
        self.outbox: dict[str, OutboxEvent] = {}  # event id -> event, written with its change

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

    def list_open(self) -> list[ProxyOrder]:
        self.reads += 1
        return [o for o in self.orders.values() if o.status in OPEN_STATUSES]

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

    # --- guarded writes --------------------------------------------------------
    def put_order(self, order: ProxyOrder) -> GuardedWrite:
        def put() -> None:
            self.orders[order.order_id] = order

        return GuardedWrite.failing_with(FakeWrite(lambda: order.order_id not in self.orders, put),
                                         lambda: AlreadyExists("The order id is taken.", order_id=order.order_id))

    def add_requester_usage(self, order: ProxyOrder, day: str, daily_limit: int) -> GuardedWrite:
        usage = self._usage(f"user#{order.owner}#{day}", order.amount.amount, daily_limit)
        return GuardedWrite.failing_with(usage, lambda: OrderLimitExceeded(limit="daily", maximum=daily_limit))

    def order_transition(self, before: ProxyOrder, after: ProxyOrder, now: int, expiry: Expiry,
                         on_failure: ErrorFactory | None = None) -> GuardedWrite:
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

        write = FakeWrite(check, commit)
        if on_failure is not None:
            return GuardedWrite.failing_with(write, on_failure)
        return GuardedWrite(write, lambda _old: order_refusal(before.order_id, self.orders.get(before.order_id), now))

    def agent_active(self, agent: Agent) -> GuardedWrite:
        def active() -> bool:
            current = self.agents.get(agent.account_id)
            return current is not None and current.status is AgentStatus.ACTIVE

        return GuardedWrite.failing_with(FakeWrite(active, lambda: None), lambda: ProxyNotEligible(
            "The agent is not active.", reason="AGENT_NOT_ACTIVE"))

    def add_agent_usage(self, agent: Agent, day: str, amount: int) -> GuardedWrite:
        usage = self._usage(f"agent#{agent.account_id}#{day}", amount, agent.daily)
        return GuardedWrite.failing_with(usage, lambda: AgentLimitExceeded(
            "The agent's daily limit does not allow this order.", limit="daily", maximum=agent.daily))

    def add_friend_usage(self, account_id: str, day: str, amount: int, daily_limit: int) -> GuardedWrite:
        usage = self._usage(f"friend#{account_id}#{day}", amount, daily_limit)
        return GuardedWrite.failing_with(usage, lambda: FriendLimitExceeded(
            "The friend's daily withdrawal limit does not allow this order.", limit="daily", maximum=daily_limit))

    def put_reversal(self, request: ReversalRequest) -> GuardedWrite:
        def put() -> None:
            self.reversals[request.request_id] = request

        return GuardedWrite.failing_with(FakeWrite(lambda: request.request_id not in self.reversals, put),
                                         lambda: AlreadyExists("The reversal request id is taken.",
                                                               request_id=request.request_id))

    def decide_reversal(self, decided: ReversalRequest, expect: ReversalRequest) -> GuardedWrite:
        def check() -> bool:
            current = self.reversals.get(decided.request_id)
            return current is not None and current.status == expect.status

        def commit() -> None:
            self.reversals[decided.request_id] = decided

        return GuardedWrite.failing_with(FakeWrite(check, commit), lambda: ReversalNotAllowed(
            "The request was already decided.", reason="ALREADY_DECIDED"))

    def _usage(self, key: str, amount: int, limit: int) -> FakeWrite:
        def check() -> bool:
            return self.usage.get(key, (0, 0))[0] <= limit - amount

        def commit() -> None:
            used, count = self.usage.get(key, (0, 0))
            self.usage[key] = (used + amount, count + 1)

        return FakeWrite(check, commit)

    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        with self.lock:
            check_all(writes)
            commit_all(writes)

    def put_agent(self, agent: Agent) -> GuardedWrite:
        return GuardedWrite.failing_with(
            FakeWrite(lambda: agent.account_id not in self.agents,
                      lambda: self.agents.__setitem__(agent.account_id, agent)),
            lambda: AgentAlreadyExists(account_id=agent.account_id))

    def event(self, event: OutboxEvent) -> GuardedWrite:
        return GuardedWrite.failing_with(
            FakeWrite(lambda: event.event_id not in self.outbox,
                      lambda: self.outbox.__setitem__(event.event_id, event)),
            lambda: DuplicateEvent(event.event_id))


class EventLog:
    """The events the store's outbox holds, in the order written: what the publisher would put on the bus."""

    def __init__(self, store: InMemoryProxyStore) -> None:
        self.store = store

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e.detail_type, e.detail) for e in self.store.outbox.values()]

    def types(self) -> list[str]:
        return [t for t, _ in self.events]
