"""The ledger publishes its contention: a metric per retried write conflict and one when it gives up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.errors import TemporarilyUnavailable
from shared.ledger.service import MAX_ATTEMPTS, AccountService, LedgerService
from shared.ledger.settings import LedgerSettings
from shared.observability import metrics
from shared.types import Money
from tests.fakes.ledger import InMemoryLedgerStore

SETTINGS = LedgerSettings(accounts_table="a", ledger_table="l", supported_currencies="CNY",
                          max_transfer_amount=1_000_000)


@pytest.fixture
def store() -> Iterator[InMemoryLedgerStore]:
    metrics.clear_metrics()
    yield InMemoryLedgerStore()
    metrics.clear_metrics()


def _published(name: str) -> float:
    entry = metrics.metric_set.get(name)
    return sum(entry["Value"]) if entry else 0


def _funded_pair(store: InMemoryLedgerStore) -> tuple[LedgerService, str, str]:
    ledger = LedgerService(store, SETTINGS, sleep=lambda _: None)
    accounts = AccountService(ledger)
    alice, bob = accounts.register("alice"), accounts.register("bob")
    ledger.issue("fund-alice", alice.account_id, Money(amount=1_000, currency="CNY"), by="ops")
    metrics.clear_metrics()
    return ledger, alice.account_id, bob.account_id


def test_each_retried_conflict_is_counted(store: InMemoryLedgerStore) -> None:
    # Given a transfer that meets two write conflicts before it commits
    ledger, alice, bob = _funded_pair(store)
    store.conflicts_to_inject = 2
    # When it is applied
    ledger.transfer("t1", alice, bob, Money(amount=100, currency="CNY"), "P2P_TRANSFER")
    # Then two conflicts are published and no exhaustion
    assert _published("LedgerWriteConflict") == 2
    assert _published("LedgerRetriesExhausted") == 0


def test_giving_up_is_counted_once(store: InMemoryLedgerStore) -> None:
    # Given a transfer that conflicts on every attempt
    ledger, alice, bob = _funded_pair(store)
    store.conflicts_to_inject = MAX_ATTEMPTS
    # When it is applied, the caller is told to retry (503)
    with pytest.raises(TemporarilyUnavailable):
        ledger.transfer("t2", alice, bob, Money(amount=100, currency="CNY"), "P2P_TRANSFER")
    # Then every attempt's conflict and the exhaustion are published
    assert _published("LedgerWriteConflict") == MAX_ATTEMPTS
    assert _published("LedgerRetriesExhausted") == 1
