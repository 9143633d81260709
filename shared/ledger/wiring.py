"""Builds the ledger services from the function's settings, once per container and configuration."""

from __future__ import annotations

from functools import cache

from shared.ledger.ports import LedgerAudit
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import AccountService, LedgerService
from shared.ledger.settings import LedgerSettings


@cache
def ledger_service(settings: LedgerSettings) -> LedgerService:
    return LedgerService(DynamoLedgerStore(settings.accounts_table, settings.ledger_table), settings)


@cache
def ledger_audit(settings: LedgerSettings) -> LedgerAudit:
    """Read-only access to every account and its entries (reconciliation)."""
    return DynamoLedgerStore(settings.accounts_table, settings.ledger_table)


@cache
def account_service(settings: LedgerSettings) -> AccountService:
    return AccountService(ledger_service(settings))
