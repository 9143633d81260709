"""Builds the ledger services once per container from the function's settings."""

from __future__ import annotations

from functools import lru_cache

from shared import config
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import AccountService, LedgerService


@lru_cache(maxsize=1)
def ledger_service() -> LedgerService:
    settings = config.load(config.LedgerSettings)
    return LedgerService(DynamoLedgerStore(settings.accounts_table, settings.ledger_table), settings)


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    return AccountService(ledger_service())
