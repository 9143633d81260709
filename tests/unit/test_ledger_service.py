"""LedgerService and AccountService rules, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import InvalidPageToken, TemporarilyUnavailable
from shared.ledger.errors import (
    AccountAlreadyExists,
    AccountFrozen,
    AccountNotFound,
    CurrencyMismatch,
    DuplicateTransaction,
    InsufficientFunds,
    InvalidAmount,
    SameAccountTransfer,
    UnsupportedCurrency,
)
from shared.ledger.models import AccountStatus
from shared.ledger.service import (
    MAX_ATTEMPTS,
    AccountService,
    LedgerService,
    decode_page_token,
    encode_page_token,
    settlement_account_id,
)
from shared.ledger.settings import LedgerSettings
from shared.types import Money
from tests.fakes.ledger import InMemoryLedgerStore

SETTINGS = LedgerSettings(accounts_table="a", ledger_table="l", supported_currencies="CNY,USD",
                          max_transfer_amount=1_000_000)


def cny(n: int) -> Money:
    return Money(amount=n, currency="CNY")


@pytest.fixture
def store() -> InMemoryLedgerStore:
    return InMemoryLedgerStore()


@pytest.fixture
def ledger(store: InMemoryLedgerStore) -> LedgerService:
    return LedgerService(store, SETTINGS, clock=lambda: datetime(2026, 11, 23, tzinfo=UTC), sleep=lambda s: None)


@pytest.fixture
def accounts(ledger: LedgerService) -> AccountService:
    return AccountService(ledger)


def funded(accounts: AccountService, owner: str, amount: int) -> str:
    acct = accounts.register(owner)
    if amount:
        accounts.deposit("admin", acct.account_id, cny(amount), f"seed-{owner}")
    return acct.account_id


def total(store: InMemoryLedgerStore) -> int:
    return sum(a.balance for a in store.accounts.values())


def test_transfer_moves_money_and_keeps_the_sum(accounts: AccountService, store: InMemoryLedgerStore) -> None:
    a = funded(accounts, "alice", 1_000)
    b = funded(accounts, "bob", 0)
    tx = accounts.transfer("alice", b, cny(300), "k1")
    assert (store.accounts[a].balance, store.accounts[b].balance) == (700, 300)
    assert store.accounts[settlement_account_id("CNY")].balance == -1_000  # recorded issuance
    assert total(store) == 0
    assert tx.debit_account_id == a and tx.credit_account_id == b


def test_same_key_replays_the_recorded_transaction(accounts: AccountService, store: InMemoryLedgerStore) -> None:
    funded(accounts, "alice", 1_000)
    b = funded(accounts, "bob", 0)
    first = accounts.transfer("alice", b, cny(300), "k1")
    again = accounts.transfer("alice", b, cny(300), "k1")
    assert again == first
    assert store.accounts[b].balance == 300


def test_same_transaction_id_with_another_effect_is_refused(ledger: LedgerService, accounts: AccountService) -> None:
    a = funded(accounts, "alice", 1_000)
    b = funded(accounts, "bob", 0)
    ledger.transfer("tx-1", a, b, cny(10), "TEST")
    with pytest.raises(DuplicateTransaction):
        ledger.transfer("tx-1", a, b, cny(11), "TEST")


@pytest.mark.parametrize("amount", [0, -5, 1_000_001])
def test_bad_amounts(ledger: LedgerService, accounts: AccountService, amount: int) -> None:
    a = funded(accounts, "alice", 100)
    b = funded(accounts, "bob", 0)
    with pytest.raises(InvalidAmount):
        ledger.transfer("tx", a, b, Money.model_construct(amount=amount, currency="CNY"), "TEST")


def test_unsupported_currency_and_currency_mismatch(ledger: LedgerService, accounts: AccountService) -> None:
    a = funded(accounts, "alice", 100)
    b = funded(accounts, "bob", 0)
    with pytest.raises(UnsupportedCurrency):
        ledger.transfer("tx", a, b, Money(amount=1, currency="EUR"), "TEST")
    with pytest.raises(CurrencyMismatch):
        ledger.transfer("tx", a, b, Money(amount=1, currency="USD"), "TEST")


def test_insufficient_funds_changes_nothing(accounts: AccountService, store: InMemoryLedgerStore) -> None:
    a = funded(accounts, "alice", 100)
    b = funded(accounts, "bob", 0)
    with pytest.raises(InsufficientFunds):
        accounts.transfer("alice", b, cny(101), "k")
    assert (store.accounts[a].balance, store.accounts[b].balance) == (100, 0)
    assert len(store.transactions) == 1  # only the deposit


def test_frozen_and_missing_accounts(accounts: AccountService, store: InMemoryLedgerStore) -> None:
    funded(accounts, "alice", 100)
    b = funded(accounts, "bob", 0)
    store.set_status(b, AccountStatus.FROZEN)
    with pytest.raises(AccountFrozen):
        accounts.transfer("alice", b, cny(1), "k")
    with pytest.raises(AccountNotFound):
        accounts.transfer("alice", "acc_doesnotexist", cny(1), "k2")
    with pytest.raises(AccountNotFound):
        accounts.transfer("nobody", b, cny(1), "k3")


def test_transfer_to_self_is_refused(accounts: AccountService) -> None:
    a = funded(accounts, "alice", 100)
    with pytest.raises(SameAccountTransfer):
        accounts.transfer("alice", a, cny(1), "k")


def test_one_account_per_user(accounts: AccountService) -> None:
    accounts.register("alice")
    with pytest.raises(AccountAlreadyExists):
        accounts.register("alice")


def test_a_registration_retried_with_its_key_answers_its_account(accounts: AccountService,
                                                                 store: InMemoryLedgerStore) -> None:
    # Given a registration that committed (its answer lost in a crash)
    first = accounts.register("alice", phone="+8613800000001", request_key="key-1")
    # When the same request comes again: the same account, nothing opened twice
    assert accounts.register("alice", phone="+8613800000001", request_key="key-1") == first
    assert list(store.accounts) == [first.account_id]
    # Another request (another key) of the same owner is still refused; so is another owner's use of the key
    with pytest.raises(AccountAlreadyExists):
        accounts.register("alice", phone="+8613800000001", request_key="key-2")
    bob = accounts.register("bob", request_key="key-1")
    assert bob.account_id != first.account_id and first.account_id.startswith("acc_")


def test_conflicts_are_retried_then_reported(ledger: LedgerService, accounts: AccountService,
                                             store: InMemoryLedgerStore) -> None:
    a = funded(accounts, "alice", 100)
    b = funded(accounts, "bob", 0)
    store.conflicts_to_inject = MAX_ATTEMPTS - 1
    ledger.transfer("tx-r", a, b, cny(5), "TEST")  # succeeds on the last attempt
    assert store.accounts[b].balance == 5
    store.conflicts_to_inject = MAX_ATTEMPTS
    with pytest.raises(TemporarilyUnavailable):
        ledger.transfer("tx-s", a, b, cny(5), "TEST")
    assert store.accounts[b].balance == 5


def test_page_tokens_are_bound_to_the_account() -> None:
    token = encode_page_token("ENTRY#2026#tx#D", "acc_a")
    assert decode_page_token(token, "acc_a") == "ENTRY#2026#tx#D"
    with pytest.raises(InvalidPageToken):
        decode_page_token(token, "acc_b")  # another user's cursor
    for garbage in ("", "!!!", "e30", encode_page_token("TX#x", "acc_a")):
        with pytest.raises(InvalidPageToken):
            decode_page_token(garbage, "acc_a")
