"""HTTP request/response models of the accounts and ledger API, mapped explicitly from entities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.ledger.models import Account, Direction, Entry, Transaction
from shared.types import AccountId, Balance, Currency, Money, Note


class RegisterAccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Currency | None = Field(default=None, description="Defaults to the platform currency (CNY).")


def mask_phone(phone: str | None) -> str | None:
    """``+8613812345678`` -> ``+86138****5678``: enough for the owner to recognise, not to reuse."""
    if not phone:
        return None
    return phone[:6] + "*" * max(0, len(phone) - 10) + phone[-4:] if len(phone) > 10 else phone[:3] + "****"


class AccountResponse(BaseModel):
    account_id: str
    owner: str
    kind: str
    status: str
    balance: Balance
    phone: str | None = Field(default=None, description="The account's phone number, masked.",
                              examples=["+86138****5678"])
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountResponse:
        return cls(
            account_id=a.account_id,
            owner=a.owner,
            kind=a.kind.value,
            status=a.status.value,
            balance=Balance(amount=a.balance, currency=a.currency),
            phone=mask_phone(a.phone),
            created_at=a.created_at,
        )


class EntryResponse(BaseModel):
    transaction_id: str
    direction: Direction
    amount: Money
    counterparty_account_id: str
    type: str
    note: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, e: Entry) -> EntryResponse:
        return cls(
            transaction_id=e.transaction_id,
            direction=e.direction,
            amount=e.amount,
            counterparty_account_id=e.counterparty_account_id,
            type=e.type,
            note=e.note,
            created_at=e.created_at,
        )


class EntriesResponse(BaseModel):
    account_id: str
    items: list[EntryResponse]
    next_token: str | None = Field(default=None, description="Pass as next_token to get the next (older) page.")


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_account_id: AccountId
    amount: Money
    note: Note | None = None


class DepositRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money
    note: Note | None = None


class TransactionResponse(BaseModel):
    transaction_id: str
    type: str
    from_account_id: str
    to_account_id: str
    amount: Money
    created_at: datetime

    @classmethod
    def of(cls, t: Transaction) -> TransactionResponse:
        return cls(
            transaction_id=t.transaction_id,
            type=t.type,
            from_account_id=t.debit_account_id,
            to_account_id=t.credit_account_id,
            amount=t.amount,
            created_at=t.created_at,
        )
