"""Ledger and account services: the business rules of SPEC §1.

``LedgerService.transfer`` is what every capability calls to move money.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from shared.clock import utcnow
from shared.errors import AlreadyExists, InvalidPageToken, TemporarilyUnavailable
from shared.identity_numbers import contains_pan
from shared.ledger.errors import (
    AccountAlreadyExists,
    AccountNotFound,
    AccountNotPayable,
    AccountNotPending,
    DuplicateTransaction,
    InvalidAmount,
    PhoneInUse,
    SameAccountTransfer,
    SecurityAuthenticationRequired,
    UnsupportedCurrency,
)
from shared.ledger.models import PAYABLE_BY_CUSTOMERS, Account, AccountKind, AccountStatus, EntryPage, Transaction
from shared.ledger.ports import (
    GuardedWrite,
    LedgerStore,
    PaymentGuard,
    PaymentRequest,
    StaleAuthorization,
    TransactionAlreadyApplied,
    WriteConflict,
)
from shared.ledger.settings import LedgerSettings
from shared.observability import metrics
from shared.types import MAX_MINOR_UNITS, ClientContext, Money

MAX_ATTEMPTS = 8
GUARD_ATTEMPTS = 3
BASE_DELAY_S = 0.005
MAX_DELAY_S = 0.2


def settlement_account_id(currency: str) -> str:
    """The platform's settlement account for a currency: where issued money comes from."""
    return f"sys_settlement_{currency}"


def derived_transaction_id(prefix: str, *parts: str) -> str:
    """A deterministic transaction id, so a retried operation can never apply twice."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{prefix}_{digest}"

def new_account_id(owner: str | None = None, request_key: str | None = None) -> str:
    """``acc_`` + 32 hex digits, never PAN-like (~0.2 % hold a Luhn-valid run of 13+ digits): APIs that refuse card
    numbers in every field (bank binding's partner API) must accept every account id. Random, or derived from
    (owner, ``Idempotency-Key``) when both are given: the same request always names the same account."""
    for attempt in itertools.count():
        if owner is None or request_key is None:
            candidate = f"acc_{uuid.uuid4().hex}"
        else:
            seed = f"{owner}\x1f{request_key}\x1f{attempt}" if attempt else f"{owner}\x1f{request_key}"
            candidate = "acc_" + hashlib.sha256(seed.encode()).hexdigest()[:32]
        if not contains_pan(candidate):
            return candidate
    raise AssertionError("unreachable")


class LedgerService:
    def __init__(
        self,
        store: LedgerStore,
        settings: LedgerSettings,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.sleep = sleep

    # --- validation -----------------------------------------------------------
    def check_amount(self, amount: Money) -> None:
        if not isinstance(amount.amount, int) or isinstance(amount.amount, bool) or amount.amount <= 0:
            raise InvalidAmount("Amount must be a positive integer of minor units.", amount=str(amount.amount))
        limit = min(self.settings.max_transfer_amount, MAX_MINOR_UNITS)
        if amount.amount > limit:
            raise InvalidAmount(f"Amount exceeds the maximum of {limit} minor units.", maximum=limit)
        if amount.currency not in self.settings.currencies:
            raise UnsupportedCurrency(currency=amount.currency, supported=sorted(self.settings.currencies))

    # --- the one way money moves ---------------------------------------------
    def transfer(
        self,
        transaction_id: str,
        debit_account_id: str,
        credit_account_id: str,
        amount: Money,
        type: str,
        metadata: dict[str, str] | None = None,
        note: str | None = None,
        writes: Sequence[GuardedWrite] = (),
        credit_kinds: Collection[AccountKind] | None = None,
    ) -> Transaction:
        """Apply a double-entry transfer exactly once per ``transaction_id``.

        Replaying an id with the same effect returns the recorded transaction and
        moves nothing; replaying it with a different effect raises
        ``DuplicateTransaction``. Write conflicts are retried with full-jitter
        exponential back-off, at most ``MAX_ATTEMPTS`` times. ``writes`` (the
        capability's own state changes) are committed in the same transaction (see
        ``LedgerStore.apply``); if one fails its condition, its domain error
        propagates and nothing moved. ``credit_kinds`` restricts what the credited
        account may be (checked in the write: ``AccountNotPayable`` otherwise).
        """
        self.check_amount(amount)
        if debit_account_id == credit_account_id:
            raise SameAccountTransfer(account_id=debit_account_id)
        tx = Transaction(
            transaction_id=transaction_id,
            type=type,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount=amount,
            metadata=metadata or {},
            created_at=self.clock(),
        )
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.store.apply(tx, note=note, writes=writes, credit_kinds=credit_kinds)
                return tx
            except TransactionAlreadyApplied:
                recorded = self.store.get_transaction(transaction_id)
                if recorded is None:  # cannot happen with consistent reads; treat as a race
                    continue
                if not recorded.same_effect_as(tx):
                    raise DuplicateTransaction(transaction_id=transaction_id) from None
                return recorded
            except WriteConflict:
                metrics.add_metric(name="LedgerWriteConflict", unit="Count", value=1)  # alarmed on: template.yaml
                self.sleep(random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)))
        metrics.add_metric(name="LedgerRetriesExhausted", unit="Count", value=1)  # the caller answers 503
        raise TemporarilyUnavailable(transaction_id=transaction_id)

    # --- system accounts ------------------------------------------------------
    def ensure_system_account(self, account_id: str, kind: AccountKind, currency: str, owner: str = "platform",
                              allow_negative: bool = False) -> Account:
        existing = self.store.get_account(account_id)
        if existing:
            return existing
        account = Account(account_id=account_id, owner=owner, kind=kind, currency=currency,
                          allow_negative=allow_negative, created_at=self.clock())
        with contextlib.suppress(AlreadyExists):
            self.store.create_account(account, unique_owner=False)
        return self.store.get_account(account_id) or account

    def issue(self, transaction_id: str, credit_account_id: str, amount: Money, by: str,
              type: str = "DEPOSIT", note: str | None = None,
              credit_kinds: Collection[AccountKind] | None = None) -> Transaction:
        """Fund an account from the settlement account: the only recorded issuance."""
        self.check_amount(amount)
        settlement = settlement_account_id(amount.currency)
        self.ensure_system_account(settlement, AccountKind.SETTLEMENT, amount.currency, allow_negative=True)
        return self.transfer(transaction_id, settlement, credit_account_id, amount, type,
                             metadata={"issued_by": by}, note=note, credit_kinds=credit_kinds)


class AccountService:
    """What a user does with their own payment account."""

    def __init__(self, ledger: LedgerService, guard: PaymentGuard | None = None) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.guard = guard  # the inline verification decision of transfers (SPEC §4), when wired

    def register(self, owner: str, currency: str | None = None, phone: str | None = None,
                 request_key: str | None = None) -> Account:
        """The caller's payment account; ``phone`` (their verified ``phone_number`` claim) is recorded on it and
        kept unique across accounts (``PhoneInUse``).

        With the request's ``Idempotency-Key`` the account id derives from (owner, key): the same request retried
        after a crash between the commit and the idempotency record's completion finds the account it opened and
        answers it (201 again); another request of an owner who has an account is refused ``AccountAlreadyExists``."""
        currency = currency or self.ledger.settings.default_currency
        if currency not in self.ledger.settings.currencies:
            raise UnsupportedCurrency(currency=currency, supported=sorted(self.ledger.settings.currencies))
        account = Account(account_id=new_account_id(owner, request_key), owner=owner, currency=currency, phone=phone,
                          created_at=self.ledger.clock())
        try:
            self.store.create_account(account, unique_owner=True)
        except AlreadyExists as exc:
            if request_key is None or isinstance(exc, AccountAlreadyExists | PhoneInUse):
                raise
            existing = self.store.get_account(account.account_id)  # this request's account (the id is derived)
            if existing is None or existing.owner != owner:
                raise
            return existing
        return account

    # --- bank-initiated binding (SPEC §6) -----------------------------------------
    def register_for_binding(self, account_id: str, owner: str, phone: str, currency: str | None = None) -> Account:
        """Open ``owner``'s account for a bank binding, ``PENDING_BINDING`` (not usable yet), under a caller-chosen
        id so that a retried registration finds the account it already opened instead of opening another: the
        existing account is returned when it is this owner's. Raises ``AccountAlreadyExists`` (the user has another
        account) or ``PhoneInUse``."""
        currency = currency or self.ledger.settings.default_currency
        account = Account(account_id=account_id, owner=owner, currency=currency, phone=phone,
                          status=AccountStatus.PENDING_BINDING, created_at=self.ledger.clock())
        try:
            self.store.create_account(account, unique_owner=True)
        except AlreadyExists as exc:
            if isinstance(exc, AccountAlreadyExists | PhoneInUse):
                raise
            existing = self.store.get_account(account_id)
            if existing is None or existing.owner != owner:
                raise
            return existing
        return account

    def activate_for_binding(self, account_id: str, binding_id: str) -> None:
        self.store.activate_for_binding(account_id, binding_id)

    def close_unused(self, account_id: str, reason: str, binding_id: str | None = None) -> bool:
        """Close an account a failed binding opened, if it is still pending (or only activated by ``binding_id``,
        gate still up) and empty; False if it was not."""
        account = self.store.get_account(account_id)
        if account is None:
            return False
        try:
            self.store.close_pending(account, reason, binding_id)
        except AccountNotPending:
            return False
        return True

    def clear_security_auth(self, account_id: str, binding_id: str | None = None) -> bool:
        return self.store.clear_security_auth(account_id, binding_id)

    def require_authenticated(self, account: Account) -> None:
        """Refuse an operation of the account's user while a bank binding's first-use verification is due (for
        operations that debit nothing; debits are refused by the ledger's own condition)."""
        if account.security_auth_required:
            raise SecurityAuthenticationRequired(account_id=account.account_id)

    def my_account(self, owner: str) -> Account:
        account = self.store.find_account_by_owner(owner)
        if account is None:
            raise AccountNotFound("The caller has no payment account; register one with POST /accounts.")
        return account

    def my_entries(self, owner: str, limit: int, next_token: str | None) -> tuple[Account, EntryPage, str | None]:
        account = self.my_account(owner)
        cursor = decode_page_token(next_token, account.account_id) if next_token else None
        page = self.store.list_entries(account.account_id, limit, cursor)
        token = encode_page_token(page.cursor, account.account_id) if page.cursor else None
        return account, page, token

    def transfer(self, owner: str, to_account_id: str, amount: Money, idempotency_key: str,
                 note: str | None = None, client: ClientContext | None = None) -> Transaction:
        """A P2P transfer. With a guard (adaptive verification), it first authorizes the payment: it may refuse
        (``403 VERIFICATION_REQUIRED``) or hand writes that commit with the transfer (a token used up once)."""
        source = self.my_account(owner)
        if source.account_id == to_account_id:
            raise SameAccountTransfer(account_id=to_account_id)
        self.ledger.check_amount(amount)
        tx_id = derived_transaction_id("p2p", owner, idempotency_key)
        payment = PaymentRequest(owner=owner, from_account_id=source.account_id, to_account_id=to_account_id,
                                 amount=amount, client=client or ClientContext())
        for attempt in range(GUARD_ATTEMPTS):
            writes = self.guard.authorize(payment) if self.guard is not None else ()
            try:
                return self.ledger.transfer(tx_id, source.account_id, to_account_id, amount, "P2P_TRANSFER",
                                            metadata={"initiated_by": owner}, note=note,
                                            credit_kinds=PAYABLE_BY_CUSTOMERS, writes=writes)
            except StaleAuthorization:
                if attempt == GUARD_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def change_phone(self, owner: str, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        """The caller's account with ``new_phone`` (the old number's claim released, the new one claimed), together
        with ``writes`` (the confirmation the caller's capability requires)."""
        return self.store.change_phone(self.my_account(owner), new_phone, writes)

    def deposit(self, admin: str, account_id: str, amount: Money, idempotency_key: str,
                note: str | None = None) -> Transaction:
        account = self.store.get_account(account_id)
        if account is None:
            raise AccountNotFound(account_id=account_id)
        if account.kind not in PAYABLE_BY_CUSTOMERS:  # also in the write; settlement would be a self-transfer
            raise AccountNotPayable(account_id=account_id)
        tx_id = derived_transaction_id("dep", admin, account_id, idempotency_key)
        return self.ledger.issue(tx_id, account_id, amount, by=admin, note=note, credit_kinds=PAYABLE_BY_CUSTOMERS)


def encode_page_token(cursor: str, account_id: str) -> str:
    raw = json.dumps({"a": account_id, "k": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, account_id: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        cursor = data["k"]
        owner_account = data["a"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidPageToken() from exc
    if owner_account != account_id or not isinstance(cursor, str) or not cursor.startswith("ENTRY#"):
        raise InvalidPageToken()
    return cursor
