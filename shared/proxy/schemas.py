"""HTTP request/response models of the proxy-mode API, mapped explicitly from entities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from shared.ledger.models import Account, Transaction
from shared.proxy.masking import order_parties
from shared.proxy.models import (
    Agent,
    AgentDayTotals,
    AgentUsage,
    OrderStatus,
    OrderType,
    ProxyOrder,
    ReversalRequest,
)
from shared.types import MAX_MINOR_UNITS, AccountId, Balance, DecisionNote, DisplayName, Money, Reason

Code = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Limit = Annotated[StrictInt, Field(gt=0, le=MAX_MINOR_UNITS)]


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: OrderType
    amount: Money
    proxy_mode: StrictBool | None = Field(default=None, description="Must be true: this endpoint is proxy mode.")


class CreatedOrderResponse(BaseModel):
    order_id: str
    type: OrderType
    status: OrderStatus
    amount: Money
    code: str = Field(description="What the QR encodes; show it to the proxy. Single use.")
    expires_at: datetime

    @classmethod
    def of(cls, o: ProxyOrder, code: str) -> CreatedOrderResponse:
        return cls(order_id=o.order_id, type=o.type, status=o.status, amount=o.amount, code=code,
                   expires_at=datetime.fromtimestamp(o.expires_at, UTC))


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    proxy_account_id: AccountId


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: StrictBool = Field(description="true: the proxy is the one in front of me; move the money.")


class Party(BaseModel):
    account_id: str | None = Field(default=None, description="Masked account id.")
    display_name: str | None = Field(default=None, description="Masked agent name.")
    is_agent: bool | None = None


class Parties(BaseModel):
    requester: Party
    proxy: Party


class OrderResponse(BaseModel):
    order_id: str
    type: OrderType
    status: OrderStatus
    amount: Money
    expires_at: datetime
    created_at: datetime
    executed_at: datetime | None = None
    closed_at: datetime | None = None
    transaction_id: str | None = None
    reversal_request_id: str | None = None
    parties: Parties

    @classmethod
    def of(cls, o: ProxyOrder) -> OrderResponse:
        """The order with both parties masked."""
        return cls(order_id=o.order_id, type=o.type, status=o.status, amount=o.amount,
                   expires_at=datetime.fromtimestamp(o.expires_at, UTC), created_at=o.created_at,
                   executed_at=o.executed_at, closed_at=o.closed_at, transaction_id=o.transaction_id,
                   reversal_request_id=o.reversal_request_id, parties=Parties.model_validate(order_parties(o)))


class ReceiptResponse(BaseModel):
    """What the proxy (and the requester) see once money moved."""

    order_id: str
    status: OrderStatus
    type: OrderType
    transaction_id: str | None = None
    amount: Money
    executed_at: datetime | None = None
    parties: Parties

    @classmethod
    def of(cls, o: ProxyOrder, tx: Transaction | None) -> ReceiptResponse:
        return cls(order_id=o.order_id, status=o.status, type=o.type,
                   transaction_id=tx.transaction_id if tx else None, amount=o.amount, executed_at=o.executed_at,
                   parties=Parties.model_validate(order_parties(o)))


class ReversalRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReversalDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: StrictBool
    note: DecisionNote | None = None


class ReversalResponse(BaseModel):
    request_id: str
    order_id: str
    status: str
    reason: str
    requested_by: str
    created_at: datetime
    decided_at: datetime | None = None
    transaction_id: str | None = None

    @classmethod
    def of(cls, r: ReversalRequest) -> ReversalResponse:
        return cls(request_id=r.request_id, order_id=r.order_id, status=r.status.value, reason=r.reason,
                   requested_by=r.requested_by, created_at=r.created_at, decided_at=r.decided_at,
                   transaction_id=r.transaction_id)


class ReversalsPage(BaseModel):
    items: list[ReversalResponse]
    next_token: str | None = Field(default=None, description="Pass as next_token for the next page.")


class AgentLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_order: Limit = Field(description="Largest single order, minor units.")
    daily: Limit = Field(description="Total executed per UTC day, minor units.")


class RegisterAgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: AccountId
    limits: AgentLimits
    display_name: DisplayName | None = None


class AgentResponse(BaseModel):
    account_id: str
    status: str
    limits: AgentLimits
    display_name: str | None = None
    created_at: datetime
    float: Balance | None = Field(default=None, description="The agent account's balance.")
    today: dict[str, int] | None = Field(default=None, description="Today's usage: amount and count.")

    @classmethod
    def of(cls, a: Agent, account: Account | None = None, usage: AgentUsage | None = None) -> AgentResponse:
        return cls(account_id=a.account_id, status=a.status.value,
                   limits=AgentLimits(per_order=a.per_order, daily=a.daily), display_name=a.display_name,
                   created_at=a.created_at,
                   float=Balance(amount=account.balance, currency=account.currency) if account else None,
                   today={"amount": usage.amount, "count": usage.count,
                          "remaining": max(0, a.daily - usage.amount)} if usage else None)


class AgentOrderLine(BaseModel):
    order_id: str
    type: OrderType
    status: OrderStatus
    amount: Money
    transaction_id: str | None
    executed_at: datetime | None

    @classmethod
    def of(cls, o: ProxyOrder) -> AgentOrderLine:
        return cls(order_id=o.order_id, type=o.type, status=o.status, amount=o.amount,
                   transaction_id=o.transaction_id, executed_at=o.executed_at)


class AgentTotals(BaseModel):
    count: int
    top_up_amount: int = Field(description="Paid out by the agent's account (top-ups), minor units.")
    withdrawal_amount: int = Field(description="Received by the agent's account (withdrawals), minor units.")
    net: int = Field(description="withdrawal_amount - top_up_amount: the day's change to the agent's balance.")
    currency: str | None = None


class AgentOrdersResponse(BaseModel):
    account_id: str
    date: str
    items: list[AgentOrderLine]
    totals: AgentTotals

    @classmethod
    def of(cls, agent: Agent, day: str, orders: list[ProxyOrder], totals: AgentDayTotals) -> AgentOrdersResponse:
        return cls(
            account_id=agent.account_id, date=day, items=[AgentOrderLine.of(o) for o in orders],
            totals=AgentTotals(count=totals.count, top_up_amount=totals.top_up_amount,
                               withdrawal_amount=totals.withdrawal_amount, net=totals.net,
                               currency=orders[0].amount.currency if orders else None),
        )
