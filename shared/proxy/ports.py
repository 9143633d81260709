"""What the proxy service depends on: its store (DynamoDB or a fake) and an event publisher.

Writes that must be atomic with a ledger transfer are returned as *items*
(opaque to the service: ``TransactWriteItems`` entries for DynamoDB) and given
to ``LedgerService.transfer(..., extra_items=...)``; writes without money go
through ``commit``. Either way a failed condition raises
``shared.ledger.ports.ExtraItemRejected`` with the item's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from shared.proxy.models import Agent, AgentUsage, OrderStatus, ProxyOrder, ReversalRequest, ReversalStatus

Expiry = Literal["unexpired", "expired"] | None


class ProxyStore(Protocol):
    # --- reads (strongly consistent) -----------------------------------------
    def get_order(self, order_id: str) -> ProxyOrder | None: ...

    def get_agent(self, account_id: str) -> Agent | None: ...

    def get_agent_usage(self, account_id: str, day: str) -> AgentUsage: ...

    def get_reversal(self, request_id: str) -> ReversalRequest | None: ...

    def list_due(self, now: int, limit: int) -> list[ProxyOrder]:
        """Open orders (pending or awaiting confirmation) whose ``expires_at <= now``."""

    def list_agent_orders(self, account_id: str, day: str) -> list[ProxyOrder]:
        """Orders the account executed on ``day`` (UTC, ``YYYY-MM-DD``), oldest first."""

    def list_reversals(self, status: ReversalStatus, limit: int,
                       cursor: dict[str, str] | None) -> tuple[list[ReversalRequest], dict[str, str] | None]:
        """Reversal requests in ``status``, oldest first; the cursor is the store's own position."""

    # --- writes as transaction items -----------------------------------------
    def create_items(self, order: ProxyOrder, day: str, daily_limit: int) -> Sequence[Any]:
        """[put the order once, add its amount to the requester's usage of ``day`` within ``daily_limit``]."""

    def transition_items(self, before: ProxyOrder, after: ProxyOrder, now: int, expiry: Expiry) -> Sequence[Any]:
        """[replace ``before`` by ``after`` if the stored order is still ``before`` (same version and status)
        and, per ``expiry``, ``expires_at > now`` or ``expires_at <= now``]."""

    def agent_usage_items(self, agent: Agent, day: str, amount: int) -> Sequence[Any]:
        """[the agent is still active, add ``amount`` to its usage of ``day`` within its daily limit]."""

    def reversal_items(self, request: ReversalRequest, expect: Literal["new"] | ReversalRequest) -> Sequence[Any]:
        """[put the request once (``"new"``) or replace it if still ``expect.status``]."""

    def commit(self, items: Sequence[Any]) -> None: ...

    def put_agent(self, agent: Agent) -> None:
        """Put once; ``AgentAlreadyExists`` otherwise."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Best effort after the state change committed; never raises."""


TERMINAL: frozenset[OrderStatus] = frozenset(
    {OrderStatus.EXECUTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REVERSED}
)
