"""The storage interface the ledger service depends on (DynamoDB in production, a fake in unit tests).

Implementations enforce the invariants *in the write*: a transaction is applied
atomically (both balances, the transaction record put-once, both entries) or not
at all, and they report why not with the exceptions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.ledger.models import Account, EntryPage, Transaction


class TransactionAlreadyApplied(Exception):
    """The transaction id is already recorded (put-once condition failed)."""


class WriteConflict(Exception):
    """A concurrent write won the race (retryable)."""


class ExtraItemRejected(Exception):
    """One of the caller's ``extra_items`` failed its condition; nothing was written.

    ``index`` is the position in ``extra_items``; ``item`` the item's old image when the store has it.
    """

    def __init__(self, index: int, item: Any = None) -> None:
        super().__init__(f"extra item {index} failed its condition")
        self.index = index
        self.item = item


class LedgerStore(Protocol):
    def create_account(self, account: Account, unique_owner: bool) -> None:
        """Put-once. Raises ``AccountAlreadyExists`` (owner taken when ``unique_owner``) or ``AlreadyExists``."""

    def get_account(self, account_id: str) -> Account | None: ...

    def find_account_by_owner(self, owner: str) -> Account | None: ...

    def apply(self, tx: Transaction, note: str | None = None, extra_items: Sequence[Any] = ()) -> None:
        """Apply atomically. Raises ``TransactionAlreadyApplied``, ``WriteConflict``, or the domain errors
        ``AccountNotFound`` / ``AccountFrozen`` / ``CurrencyMismatch`` / ``InsufficientFunds``.

        ``extra_items`` are store-specific writes (for DynamoDB: ``TransactWriteItems`` entries) committed in
        the same transaction, so a capability can move money and change its own state atomically. A failed
        extra condition raises ``ExtraItemRejected`` (checked before the ledger's own conditions)."""

    def get_transaction(self, transaction_id: str) -> Transaction | None: ...

    def list_entries(self, account_id: str, limit: int, cursor: str | None) -> EntryPage: ...
