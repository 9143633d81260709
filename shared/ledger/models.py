"""Domain entities of the ledger (not the HTTP shapes, not the DynamoDB items)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.types import Money


class AccountKind(StrEnum):
    CUSTOMER = "CUSTOMER"  # a user's payment account (never negative); a cash agent's float is one too
    CAMPAIGN = "CAMPAIGN"  # a campaign's prize pot (funded only by the campaign's own funding operation)
    HOLDS = "HOLDS"  # reserved withdrawal funds of proxy orders (moved only by proxy orders)
    PLATFORM = "PLATFORM"  # other platform-owned operating accounts (fees, suspense)
    SETTLEMENT = "SETTLEMENT"  # money entering/leaving the platform; may go negative


PAYABLE_BY_CUSTOMERS = frozenset({AccountKind.CUSTOMER})
"""What a P2P transfer or an admin deposit may credit: never a system account (pot, holds, settlement)."""
CUSTOMER_ONLY = PAYABLE_BY_CUSTOMERS
"""What money paid to a person may credit: prizes, proxy settlements, hold releases, reversals."""
HOLDS_ONLY = frozenset({AccountKind.HOLDS})
"""What a proxy withdrawal's hold may credit: the holds account, nothing else."""
CAMPAIGN_ONLY = frozenset({AccountKind.CAMPAIGN})
"""What a campaign's funding (and its payout buckets) may credit: the campaign's own pot accounts."""


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"
    # Registered by a bank-initiated binding (SPEC §6) and not usable yet: neither debited nor credited (the
    # ledger's conditions require ACTIVE) until the binding completes; closed if the binding fails.
    PENDING_BINDING = "PENDING_BINDING"


class Direction(StrEnum):
    DEBIT = "DEBIT"  # money leaves the account
    CREDIT = "CREDIT"  # money enters the account


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    owner: str
    kind: AccountKind = AccountKind.CUSTOMER
    status: AccountStatus = AccountStatus.ACTIVE
    currency: str
    balance: int = 0
    allow_negative: bool = False
    phone: str | None = None  # E.164; the user's Cognito phone_number, unique across accounts
    # Set by a bank-initiated binding (SPEC §6): the binding whose first-use security authentication is still
    # due. While set, the account is not debited (a condition of the ledger's debit) and services refuse the
    # user's other first operations; a §4 verification for BINDING_FIRST_USE removes it.
    security_auth_required: str | None = None
    created_at: datetime

    @property
    def balance_money(self) -> tuple[int, str]:
        return self.balance, self.currency


class Transaction(BaseModel):
    """One double-entry transaction: ``amount`` leaves ``debit_account_id`` and enters ``credit_account_id``."""

    model_config = ConfigDict(frozen=True)

    transaction_id: str
    type: str
    debit_account_id: str
    credit_account_id: str
    amount: Money
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime

    def same_effect_as(self, other: Transaction) -> bool:
        return (
            self.type == other.type
            and self.debit_account_id == other.debit_account_id
            and self.credit_account_id == other.credit_account_id
            and self.amount == other.amount
        )


class Entry(BaseModel):
    """One side of a transaction as seen from one account (append-only history)."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    transaction_id: str
    direction: Direction
    amount: Money
    counterparty_account_id: str
    type: str
    note: str | None = None
    created_at: datetime


class EntryPage(BaseModel):
    items: list[Entry]
    cursor: str | None = None
