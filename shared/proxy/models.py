"""Domain entities of proxy mode (not the HTTP shapes, not the DynamoDB items)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.types import Money


class OrderType(StrEnum):
    TOP_UP = "TOP_UP"  # cash in: proxy account -> requester account
    WITHDRAW = "WITHDRAW"  # cash out: requester's held funds -> proxy account


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"
    EXECUTED = "EXECUTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REVERSED = "REVERSED"


OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.AWAITING_CONFIRMATION)


class ProxyOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    type: OrderType
    status: OrderStatus
    owner: str  # the requester's user id
    owner_account_id: str
    amount: Money
    kid: str  # key id the code was signed with (the QR route re-creates the code)
    created_at: datetime
    expires_at: int  # Unix seconds; checked in every open-state condition
    proxy_account_id: str | None = None
    proxy_owner: str | None = None
    proxy_is_agent: bool = False
    proxy_display_name: str | None = None  # the agent's name when it took the order (shown to the requester)
    executed_at: datetime | None = None
    closed_at: datetime | None = None
    transaction_id: str | None = None
    hold_transaction_id: str | None = None
    release_transaction_id: str | None = None
    reversal_request_id: str | None = None
    reversal_transaction_id: str | None = None
    version: int = 1  # every write conditions on it (optimistic concurrency)
    # the tag of the request that made the last transition (``shared.api.idempotency.request_tag``), written with
    # it: the same request retried after a crash past its commit finds its own change and answers it again
    last_request: str | None = None

    def next(self, **changes: object) -> ProxyOrder:
        return self.model_copy(update={**changes, "version": self.version + 1})


class AgentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Agent(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    owner: str
    status: AgentStatus = AgentStatus.ACTIVE
    per_order: int
    daily: int
    display_name: str | None = None
    registered_by: str
    created_at: datetime
    registered_request: str | None = None  # the registering request's tag: its retry answers this record again


class AgentUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    day: str
    amount: int = 0
    count: int = 0


class ReversalStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReversalRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    order_id: str
    requested_by: str
    reason: str
    status: ReversalStatus = ReversalStatus.REQUESTED
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    transaction_id: str | None = None
    decision_request: str | None = None  # the deciding request's tag: its retry answers this decision again


class AgentDayTotals(BaseModel):
    """What an agent's account did through proxy orders on one UTC day (reconciliation)."""

    model_config = ConfigDict(frozen=True)

    count: int
    top_up_amount: int  # paid out by the agent's account (agent -> customers)
    withdrawal_amount: int  # received by the agent's account (customers -> agent)

    @property
    def net(self) -> int:
        return self.withdrawal_amount - self.top_up_amount


class PendingHolds(BaseModel):
    """What one currency's holds account must hold: the open withdrawals' amounts."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    currency: str
    amount: int
    orders: int
