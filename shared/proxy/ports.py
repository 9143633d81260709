"""What the proxy services depend on: their store (DynamoDB or a fake), which also writes their events.

Writes with a condition are built by the store as ``GuardedWrite``s: the write (opaque to the services: a
``TransactWriteItems`` entry for DynamoDB, a ``FakeWrite`` for the fakes) together with the domain error it
stands for when its condition fails. A service hands them to ``LedgerService.transfer(..., writes=...)`` when
money moves with them, or to ``ProxyStore.commit`` when it does not; either way a failed condition raises
that write's own error. Nothing interprets a position in a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from shared.outbox import OutboxEvent
from shared.proxy.models import Agent, AgentUsage, ProxyOrder, ReversalRequest, ReversalStatus
from shared.writes import GuardedWrite

__all__ = ["ErrorFactory", "Expiry", "GuardedWrite", "OutboxEvent", "ProxyStore"]

Expiry = Literal["unexpired", "expired"] | None
ErrorFactory = Callable[[], Exception]


class ProxyStore(Protocol):
    # --- reads (strongly consistent) -----------------------------------------
    def get_order(self, order_id: str) -> ProxyOrder | None: ...

    def get_agent(self, account_id: str) -> Agent | None: ...

    def get_agent_usage(self, account_id: str, day: str) -> AgentUsage: ...

    def get_reversal(self, request_id: str) -> ReversalRequest | None: ...

    def list_due(self, now: int, limit: int) -> list[ProxyOrder]:
        """Open orders (pending or awaiting confirmation) whose ``expires_at <= now``."""

    def list_open(self) -> list[ProxyOrder]:
        """Every open order (pending or awaiting confirmation), read from the sparse open-orders index (which may
        lag a moment behind the orders: callers confirm what they rely on with ``get_order``)."""

    def list_agent_orders(self, account_id: str, day: str) -> list[ProxyOrder]:
        """Orders the account executed on ``day`` (UTC, ``YYYY-MM-DD``), oldest first."""

    def list_reversals(self, status: ReversalStatus, limit: int,
                       cursor: dict[str, str] | None) -> tuple[list[ReversalRequest], dict[str, str] | None]:
        """Reversal requests in ``status``, oldest first; the cursor is the store's own position."""

    # --- guarded writes (committed with a transfer or by ``commit``) ---------
    def event(self, event: OutboxEvent) -> GuardedWrite:
        """The event's outbox item, put once, to commit with the change it reports (the transactional outbox,
        ``shared/outbox.py``): the event exists exactly when the change committed."""

    def put_order(self, order: ProxyOrder) -> GuardedWrite:
        """Put the new order once. Fails with ``AlreadyExists`` (an order id is 128 random bits)."""

    def add_requester_usage(self, order: ProxyOrder, day: str, daily_limit: int) -> GuardedWrite:
        """Add the order's amount to its requester's total of ``day`` if it stays within ``daily_limit``.
        Fails with ``OrderLimitExceeded(limit="daily")``."""

    def order_transition(self, before: ProxyOrder, after: ProxyOrder, now: int, expiry: Expiry,
                         on_failure: ErrorFactory | None = None) -> GuardedWrite:
        """Replace ``before`` by ``after`` if the stored order is still ``before`` (same status and version)
        and, per ``expiry``, ``expires_at > now`` or ``expires_at <= now``. Fails with why the order cannot
        change, from its state at the failure (``order_refusal``: not found, code expired, not pending), or
        with ``on_failure()`` where the operation gives the change another meaning (reversals)."""

    def agent_active(self, agent: Agent) -> GuardedWrite:
        """The agent is still active. Fails with ``ProxyNotEligible(reason="AGENT_NOT_ACTIVE")``."""

    def add_agent_usage(self, agent: Agent, day: str, amount: int) -> GuardedWrite:
        """Add ``amount`` to the agent's total of ``day`` if it stays within its daily limit.
        Fails with ``AgentLimitExceeded(limit="daily")``."""

    def add_friend_usage(self, account_id: str, day: str, amount: int, daily_limit: int) -> GuardedWrite:
        """Add ``amount`` to the friend account's withdrawal total of ``day`` if it stays within ``daily_limit``.
        Fails with ``FriendLimitExceeded(limit="daily")``."""

    def put_reversal(self, request: ReversalRequest) -> GuardedWrite:
        """Put the new reversal request once. Fails with ``AlreadyExists`` (128 random bits)."""

    def decide_reversal(self, decided: ReversalRequest, expect: ReversalRequest) -> GuardedWrite:
        """Replace the request by its decision if it is still ``expect.status``.
        Fails with ``ReversalNotAllowed(reason="ALREADY_DECIDED")``."""

    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        """All or nothing; a failed condition raises the first failing write's error."""

    def put_agent(self, agent: Agent) -> GuardedWrite:
        """Put once. Fails with ``AgentAlreadyExists``."""
