"""The storage interface the ledger service depends on (DynamoDB in production, a fake in unit tests).

Implementations enforce the invariants *in the write*: a transaction is applied
atomically (both balances, the transaction record put-once, both entries) or not
at all, and they report why not with the exceptions below.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from shared.ledger.models import Account, AccountKind, EntryPage, Transaction
from shared.types import ClientContext, Money
from shared.writes import ConflictingWrite, GuardedWrite

WriteConflict = ConflictingWrite
"""A concurrent write won the race (retryable)."""

__all__ = ["GuardedWrite", "LedgerAudit", "LedgerStore", "PaymentGuard", "PaymentRequest", "StaleAuthorization",
           "TransactionAlreadyApplied", "WriteConflict"]


class TransactionAlreadyApplied(Exception):
    """The transaction id is already recorded (put-once condition failed)."""


class LedgerStore(Protocol):
    def create_account(self, account: Account, unique_owner: bool) -> None:
        """Put-once. Raises ``AccountAlreadyExists`` (owner taken when ``unique_owner``), ``PhoneInUse`` (the
        account's phone belongs to another account) or ``AlreadyExists``."""

    def get_account(self, account_id: str) -> Account | None: ...

    def find_account_by_owner(self, owner: str) -> Account | None: ...

    def find_account_by_phone(self, phone: str) -> Account | None: ...

    def change_phone(self, account: Account, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        """Release the account's phone claim, claim ``new_phone`` (``PhoneInUse`` when another account holds it)
        and set it on the account (if its phone is still the one read), with ``writes``, in one transaction."""
    def activate_for_binding(self, account_id: str, binding_id: str) -> None:
        """PENDING_BINDING or ACTIVE -> ACTIVE with ``security_auth_required = binding_id``. Raises
        ``AccountNotFound`` or ``AccountFrozen`` (frozen or closed)."""

    def clear_security_auth(self, account_id: str, binding_id: str | None = None) -> bool:
        """Remove the first-use gate (only ``binding_id``'s when given); False when it was not set."""

    def clear_security_auth_write(self, account_id: str, binding_id: str) -> GuardedWrite:
        """The write that removes ``binding_id``'s first-use gate, for the caller's transaction
        (``SecurityAuthenticationNotRequired`` when that gate is not up)."""

    def close_pending(self, account: Account, reason: str, binding_id: str | None = None) -> None:
        """PENDING_BINDING (or gated by ``binding_id``) with balance 0 -> CLOSED, releasing its owner and phone
        claims; no-op when CLOSED. Raises ``AccountNotPending`` otherwise."""

    def apply(self, tx: Transaction, note: str | None = None, writes: Sequence[GuardedWrite] = (),
              credit_kinds: Collection[AccountKind] | None = None) -> None:
        """Apply atomically. Raises ``TransactionAlreadyApplied``, ``WriteConflict``, or the domain errors
        ``AccountNotFound`` / ``AccountFrozen`` / ``CurrencyMismatch`` / ``InsufficientFunds`` /
        ``AccountNotPayable`` (the credited account's kind is not in ``credit_kinds``, when given).

        ``writes`` are the capability's own writes committed in the same transaction, so it can move money
        and change its state atomically. A write whose condition fails raises its own domain error
        (``GuardedWrite.on_condition_failure``), checked before the ledger's own conditions: they are the
        capability's preconditions."""

    def get_transaction(self, transaction_id: str) -> Transaction | None: ...

    def list_entries(self, account_id: str, limit: int, cursor: str | None) -> EntryPage: ...


class PaymentRequest(BaseModel):
    """A customer's transfer as a payment guard sees it (the inline decision of SPEC §4)."""

    model_config = ConfigDict(frozen=True)

    owner: str
    from_account_id: str
    to_account_id: str
    amount: Money
    client: ClientContext


class StaleAuthorization(Exception):
    """A guard's write (e.g. an exemption counter) no longer holds when the transfer commits: ask it again."""


class PaymentGuard(Protocol):
    """Runs before a customer transfer moves money (adaptive verification, SPEC §4)."""

    def authorize(self, payment: PaymentRequest) -> Sequence[GuardedWrite]:
        """Raise a domain error to refuse (``403 VERIFICATION_REQUIRED`` …) or return the writes that must commit
        with the transfer (a token consumed once, an exemption counter); a failing one raises its own error, a
        ``StaleAuthorization`` one makes the service ask again."""
class LedgerAudit(Protocol):
    """Read-only access to every account and every account's entries (reconciliation). Reads are strongly
    consistent; listings are paginated so they scale with the tables."""

    def scan_accounts(self, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
        """One page of accounts (every kind) and the cursor of the next page (``None`` after the last)."""

    def get_accounts(self, account_ids: Collection[str]) -> dict[str, Account]:
        """The accounts that exist among ``account_ids``, read consistently."""

    def entries_total(self, account_id: str) -> int:
        """Σ of the account's entries: credits minus debits (every page of its entries)."""
