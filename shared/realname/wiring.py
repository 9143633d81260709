"""Builds the real-name services from the function's settings (loaded at import), once per container.

``session_service(settings)`` -> ``RealNameSessionService`` (the flow);
``directory(settings)`` -> ``RealNameDirectory`` (what other capabilities read: verified identity, hashes).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared.clock import utcnow
from shared.crypto import hasher
from shared.face.wiring import enrolment_service, face_cipher, face_service, liveness_service
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.realname.adapters import (
    BindingCardHolders,
    HttpIdentityAuthority,
    LedgerPresetSources,
    NoBoundCards,
    PolicyProvider,
    ProfileSignals,
    TableIdentityAuthority,
)
from shared.realname.ports import CardHolders, IdentityAuthority
from shared.realname.repository import Counters, DynamoRealNameStore, Records
from shared.realname.services.directory import RealNameDirectory
from shared.realname.services.lockout import Lockout
from shared.realname.settings import RealNameSettings
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_service

if TYPE_CHECKING:
    from shared.realname.services.sessions import RealNameSessionService


@cache
def store(table: str) -> DynamoRealNameStore:
    return DynamoRealNameStore(table)


@cache
def policy_provider(settings: RealNameSettings) -> PolicyProvider:
    return PolicyProvider(settings)


def authority(settings: RealNameSettings) -> IdentityAuthority:
    if settings.realname_authority_backend == "http":
        return HttpIdentityAuthority(settings.realname_authority_url, settings.realname_authority_timeout_seconds)
    return TableIdentityAuthority(settings.realname_authority_table)


@cache
def directory_for(table: str, secret_id: str, max_age: int = 300) -> RealNameDirectory:
    """The directory other capabilities read (§3's registry step): light, no face or numpy import."""
    return RealNameDirectory(Records(store(table)), hasher(secret_id, max_age))


@cache
def directory(settings: RealNameSettings) -> RealNameDirectory:
    return directory_for(settings.realname_table, settings.personal_data_hash_secret_id,
                         settings.realname_hash_key_cache_seconds)


def _ledger(settings: RealNameSettings) -> LedgerSettings:
    """Only the accounts are read (the caller's phone); the ledger's settings come from template Globals."""
    return LedgerSettings(accounts_table=settings.accounts_table, ledger_table=settings.ledger_table)


def _signals(settings: RealNameSettings) -> SignalsSettings:
    """The signals store as real-name reads and writes it: the profile, the indexes, the contacts; not the
    groups table (the profile's group count is not a real-name signal)."""
    return SignalsSettings.model_validate({**settings.model_dump(include=set(SignalsSettings.model_fields)),
                                           "groups_table": ""})


def card_holders(settings: RealNameSettings) -> CardHolders:
    """Bank binding's card holders (§6) where the function reads its table (``BINDINGS_TABLE``), none elsewhere."""
    if not settings.bindings_table:
        return NoBoundCards()
    if not settings.face_kms_key_id:
        raise RuntimeError("FACE_KMS_KEY_ID (PersonalDataKey) is required to read bound cards' holders")
    from shared.binding.wiring import card_holders as binding_card_holders  # binding imports this module's reader

    return BindingCardHolders(binding_card_holders(settings.bindings_table, settings.face_kms_key_id))


@cache
def session_service(settings: RealNameSettings) -> RealNameSessionService:
    from shared.realname.services.sessions import RealNameSessionService  # numpy: only the flow's functions

    s = store(settings.realname_table)
    signals = signals_service(_signals(settings))  # SignalsReader + SignalsWriter (shared.signals.ports)
    profile = ProfileSignals(signals, signals)
    return RealNameSessionService(
        faces=face_service(settings), liveness=liveness_service(settings), policy=policy_provider(settings),
        signals=profile, authority=authority(settings),
        sources=LedgerPresetSources(account_service(_ledger(settings)), signals, card_holders(settings)),
        sealer=face_cipher(settings), directory=directory(settings), sessions=s, records=Records(s), recent=s,
        lockout=Lockout(Counters(s)), profiles=profile, clock=utcnow, reference_faces=enrolment_service(settings))
