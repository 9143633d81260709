"""In-memory ``LedgerStore`` with the same write semantics as the DynamoDB store (for unit tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from shared.errors import AlreadyExists, Conflict
from shared.ledger.errors import (
    AccountAlreadyExists,
    AccountFrozen,
    AccountNotFound,
    AccountNotPayable,
    AccountNotPending,
    CurrencyMismatch,
    InsufficientFunds,
    PhoneInUse,
    SecurityAuthenticationNotRequired,
    SecurityAuthenticationRequired,
)
from shared.ledger.models import Account, AccountKind, AccountStatus, Direction, Entry, EntryPage, Transaction
from shared.ledger.ports import GuardedWrite, TransactionAlreadyApplied, WriteConflict


@dataclass
class FakeWrite:
    """The in-memory ``GuardedWrite.operation``: ``check()`` is its condition, ``commit()`` its write."""

    check: Callable[[], bool]
    commit: Callable[[], None]


def check_all(writes: Sequence[GuardedWrite]) -> None:
    """Raise the first failing write's own domain error, as the DynamoDB stores do."""
    for write in writes:
        if not write.operation.check():
            raise write.on_condition_failure(None)


def commit_all(writes: Sequence[GuardedWrite]) -> None:
    for write in writes:
        write.operation.commit()


class InMemoryLedgerStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.owners: dict[str, str] = {}
        self.phones: dict[str, str] = {}
        self.transactions: dict[str, Transaction] = {}
        self.entries: dict[str, list[tuple[str, Entry]]] = {}
        self.lock = threading.Lock()
        self.conflicts_to_inject = 0  # simulate TransactionConflict on the next N applies

    def create_account(self, account: Account, unique_owner: bool) -> None:
        with self.lock:
            if account.account_id in self.accounts:
                raise AlreadyExists(account_id=account.account_id)
            if unique_owner and account.owner in self.owners:
                raise AccountAlreadyExists()
            if account.phone and account.phone in self.phones:
                raise PhoneInUse()
            self.accounts[account.account_id] = account
            if unique_owner:
                self.owners[account.owner] = account.account_id
            if account.phone:
                self.phones[account.phone] = account.account_id

    def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def find_account_by_owner(self, owner: str) -> Account | None:
        aid = self.owners.get(owner)
        return self.accounts.get(aid) if aid else None

    def find_account_by_phone(self, phone: str) -> Account | None:
        aid = self.phones.get(phone)
        return self.accounts.get(aid) if aid else None

    def change_phone(self, account: Account, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        with self.lock:
            check_all(writes)
            current = self.accounts.get(account.account_id)
            if current is None or current.phone != account.phone:
                raise Conflict("The account's phone changed meanwhile; try again.")
            if new_phone in self.phones:
                raise PhoneInUse()
            if current.phone:
                self.phones.pop(current.phone, None)
            self.phones[new_phone] = current.account_id
            self.accounts[current.account_id] = current.model_copy(update={"phone": new_phone})
            commit_all(writes)
            return self.accounts[current.account_id]
    def activate_for_binding(self, account_id: str, binding_id: str) -> None:
        with self.lock:
            acct = self.accounts.get(account_id)
            if acct is None:
                raise AccountNotFound(account_id=account_id)
            if acct.status not in (AccountStatus.PENDING_BINDING, AccountStatus.ACTIVE):
                raise AccountFrozen(account_id=account_id, status=acct.status.value)
            self.accounts[account_id] = acct.model_copy(
                update={"status": AccountStatus.ACTIVE, "security_auth_required": binding_id})

    def clear_security_auth(self, account_id: str, binding_id: str | None = None) -> bool:
        with self.lock:
            acct = self.accounts.get(account_id)
            if acct is None or not acct.security_auth_required or (
                    binding_id and acct.security_auth_required != binding_id):
                return False
            self.accounts[account_id] = acct.model_copy(update={"security_auth_required": None})
            return True

    def clear_security_auth_write(self, account_id: str, binding_id: str) -> GuardedWrite:
        def up() -> bool:
            acct = self.accounts.get(account_id)
            return acct is not None and acct.security_auth_required == binding_id

        def lift() -> None:
            self.accounts[account_id] = self.accounts[account_id].model_copy(update={"security_auth_required": None})

        return GuardedWrite.failing_with(FakeWrite(up, lift),
                                         lambda: SecurityAuthenticationNotRequired(account_id=account_id))

    def close_pending(self, account: Account, reason: str, binding_id: str | None = None) -> None:
        with self.lock:
            acct = self.accounts.get(account.account_id)
            if acct is None or acct.status is AccountStatus.CLOSED:
                return
            gated = binding_id is not None and acct.security_auth_required == binding_id
            if (acct.status is not AccountStatus.PENDING_BINDING and not gated) or acct.balance != 0:
                raise AccountNotPending(account_id=account.account_id)
            self.accounts[acct.account_id] = acct.model_copy(
                update={"status": AccountStatus.CLOSED, "security_auth_required": None})
            if self.owners.get(acct.owner) == acct.account_id:
                del self.owners[acct.owner]
            if acct.phone and self.phones.get(acct.phone) == acct.account_id:
                del self.phones[acct.phone]

    def set_status(self, account_id: str, status: AccountStatus) -> None:
        self.accounts[account_id] = self.accounts[account_id].model_copy(update={"status": status})

    def apply(self, tx: Transaction, note: str | None = None, writes: Sequence[GuardedWrite] = (),
              credit_kinds: Collection[AccountKind] | None = None) -> None:
        with self.lock:
            if self.conflicts_to_inject > 0:
                self.conflicts_to_inject -= 1
                raise WriteConflict("injected")
            check_all(writes)
            if tx.transaction_id in self.transactions:
                raise TransactionAlreadyApplied(tx.transaction_id)
            debit = self.accounts.get(tx.debit_account_id)
            credit = self.accounts.get(tx.credit_account_id)
            for acct, aid, is_debit in ((debit, tx.debit_account_id, True), (credit, tx.credit_account_id, False)):
                _check_side(acct, aid, is_debit, tx, credit_kinds)
            assert debit is not None and credit is not None
            n = tx.amount.amount
            self.accounts[debit.account_id] = debit.model_copy(update={"balance": debit.balance - n})
            self.accounts[credit.account_id] = credit.model_copy(update={"balance": credit.balance + n})
            self.transactions[tx.transaction_id] = tx
            for aid, other, direction in ((debit.account_id, credit.account_id, Direction.DEBIT),
                                          (credit.account_id, debit.account_id, Direction.CREDIT)):
                entry = Entry(account_id=aid, transaction_id=tx.transaction_id, direction=direction,
                              amount=tx.amount, counterparty_account_id=other, type=tx.type, note=note,
                              created_at=tx.created_at)
                sk = f"ENTRY#{tx.created_at.isoformat()}#{tx.transaction_id}#{direction.value[0]}"
                self.entries.setdefault(aid, []).append((sk, entry))
            commit_all(writes)

    def get_transaction(self, transaction_id: str) -> Transaction | None:
        return self.transactions.get(transaction_id)

    def list_entries(self, account_id: str, limit: int, cursor: str | None) -> EntryPage:
        rows = sorted(self.entries.get(account_id, []), key=lambda r: r[0], reverse=True)
        if cursor:
            rows = [r for r in rows if r[0] < cursor]
        page = rows[:limit]
        next_cursor = page[-1][0] if len(rows) > limit else None
        return EntryPage(items=[e for _, e in page], cursor=next_cursor)

    # --- LedgerAudit -----------------------------------------------------------
    def scan_accounts(self, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
        ids = sorted(a for a in self.accounts if cursor is None or a > cursor)
        page = ids[:limit]
        return [self.accounts[a] for a in page], (page[-1] if len(ids) > limit else None)

    def get_accounts(self, account_ids: Collection[str]) -> dict[str, Account]:
        return {a: self.accounts[a] for a in account_ids if a in self.accounts}

    def entries_total(self, account_id: str) -> int:
        return sum(e.amount.amount if e.direction is Direction.CREDIT else -e.amount.amount
                   for _, e in self.entries.get(account_id, []))


def _check_side(acct: Account | None, aid: str, is_debit: bool, tx: Transaction,
                credit_kinds: Collection[AccountKind] | None) -> None:
    """The conditions the real transaction puts on one side of a transfer."""
    if acct is None:
        raise AccountNotFound(account_id=aid)
    if not is_debit and credit_kinds is not None and acct.kind not in credit_kinds:
        raise AccountNotPayable(account_id=aid)
    if acct.status is not AccountStatus.ACTIVE:
        raise AccountFrozen(account_id=aid, status=acct.status.value)
    if is_debit and acct.security_auth_required:
        raise SecurityAuthenticationRequired(account_id=aid)
    if acct.currency != tx.amount.currency:
        raise CurrencyMismatch(account_id=aid, account_currency=acct.currency)
    if is_debit and acct.balance < tx.amount.amount and not acct.allow_negative:
        raise InsufficientFunds(account_id=aid)
