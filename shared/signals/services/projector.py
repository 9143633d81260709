"""``LedgerProjector``: folds the ledger's ENTRY items (from its DynamoDB stream) into their owners' profiles.

Exactly once in effect: each entry's put-once marker is written in the same transaction as the counters
it moves, so a redelivered, replayed or re-ordered record changes nothing twice. ``last_active_at`` only
moves forward, so order does not matter either. TX items, system accounts (settlement, holds, campaign
pots) and non-INSERT records are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.signals.errors import ContactAlreadyCounted
from shared.signals.fold import local_time
from shared.signals.models import Direction, LedgerFact
from shared.signals.ports import AccountDirectory, SignalsStore
from shared.signals.settings import SignalsSettings


class PoisonRecord(ValueError):
    """An ENTRY item the projector cannot read: it fails (and, after the mapping's retries, goes to the DLQ)."""


class EntryImage(BaseModel):
    """The ledger's ENTRY item as the stream carries it (``shared/ledger/repository.py``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pk: str
    sk: str
    account_id: str = Field(min_length=1)
    transaction_id: str = Field(min_length=1)
    direction: str = Field(pattern=r"^(DEBIT|CREDIT)$")
    amount: int = Field(gt=0)
    currency: str
    counterparty_account_id: str = Field(min_length=1)
    type: str = Field(min_length=1, max_length=64)
    created_at: datetime


class LedgerProjector:
    def __init__(self, store: SignalsStore, accounts: AccountDirectory, settings: SignalsSettings) -> None:
        self.store = store
        self.accounts = accounts
        self.settings = settings

    def fact_of(self, image: Mapping[str, Any]) -> LedgerFact | None:
        """The entry as its owner's fact; None when it is not projected (not an entry, a system account)."""
        if image.get("entity") != "ENTRY":
            return None
        try:
            entry = EntryImage.model_validate(dict(image))
        except ValidationError as exc:
            raise PoisonRecord(f"unreadable ENTRY item: {exc.error_count()} error(s)") from None
        account = self.accounts.by_id(entry.account_id)
        if account is None:
            raise PoisonRecord("the entry's account does not exist")  # the ledger never writes one without it
        if not account.is_customer:
            return None
        counterparty = self.accounts.by_id(entry.counterparty_account_id)
        return LedgerFact(
            user_id=account.owner, account_id=entry.account_id,
            entry_key=f"{entry.account_id}#{entry.transaction_id}#{entry.direction[0]}",
            transaction_id=entry.transaction_id, type=entry.type,
            direction=Direction.OUT if entry.direction == "DEBIT" else Direction.IN, amount=entry.amount,
            counterparty_account_id=entry.counterparty_account_id,
            counterparty_is_customer=bool(counterparty and counterparty.is_customer), at=entry.created_at)

    def project(self, image: Mapping[str, Any]) -> bool:
        """Fold one new ledger item in. True if it changed a profile, False if skipped or already projected."""
        fact = self.fact_of(image)
        if fact is None:
            return False
        self.store.touch_last_active(fact.user_id, fact.at)  # idempotent and order-free (forward only)
        local = local_time(fact.at, self.settings.utc_offset)
        spend = fact.direction is Direction.OUT and fact.type in self.settings.spend_types
        new_contact = fact.counterparty_is_customer and not self.store.contact_known(
            fact.user_id, fact.counterparty_account_id)
        expires = timedelta(days=self.settings.signals_marker_days)
        try:
            return self.store.project_entry(fact, local=local, spend=spend, new_contact=new_contact,
                                            expires_after=expires)
        except ContactAlreadyCounted:  # a concurrent entry counted this counterparty first
            return self.store.project_entry(fact, local=local, spend=spend, new_contact=False, expires_after=expires)
