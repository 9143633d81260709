"""Builds the risk-signal services from the function's settings (loaded at import), once per container and
configuration. Other capabilities get the ``SignalsReader`` from ``signals_reader(settings)``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import ledger_service
from shared.signals.adapters import DEFAULT_IP_LISTS, CidrReputation, GroupMemberships, LedgerAccounts
from shared.signals.ports import SignalsReader, SignalsWriter
from shared.signals.repository import DynamoSignalsStore
from shared.signals.services import LedgerProjector, SignalsService
from shared.signals.settings import ProjectorSettings, SignalsSettings


@cache
def store(table: str) -> DynamoSignalsStore:
    return DynamoSignalsStore(table)


@cache
def reputation(path: str) -> CidrReputation:
    return CidrReputation(Path(path) if path else DEFAULT_IP_LISTS)


@cache
def accounts(accounts_table: str, ledger_table: str) -> LedgerAccounts:
    settings = LedgerSettings(accounts_table=accounts_table, ledger_table=ledger_table)
    return LedgerAccounts(ledger_service(settings).store)


@cache
def signals_service(settings: SignalsSettings) -> SignalsService:
    directory = accounts(settings.accounts_table, settings.ledger_table) \
        if settings.accounts_table and settings.ledger_table else None
    memberships = GroupMemberships(group_service(GroupSettings(groups_table=settings.groups_table))) \
        if settings.groups_table else None
    return SignalsService(store(settings.signals_table), settings, reputation(settings.signals_ip_lists_file),
                          accounts=directory, memberships=memberships)


def signals_reader(settings: SignalsSettings) -> SignalsReader:
    """The read contract for other capabilities (§3, §4, §5)."""
    return signals_service(settings)


def signals_writer(settings: SignalsSettings) -> SignalsWriter:
    """The writes other capabilities make to the reserved parts of the profile (§4, §5, §6)."""
    return signals_service(settings)


@cache
def projector(settings: ProjectorSettings) -> LedgerProjector:
    return LedgerProjector(store(settings.signals_table), accounts(settings.accounts_table, settings.ledger_table),
                           settings)
