"""Builds the verification services from the function's settings, once per container and configuration.

A function that decides or answers challenges also loads the face capability's settings (``FaceApiSettings``:
the FACE method and a trigger's face capture) and bank binding's (``BindingSettings``: CARD and the first-use
gate) at import and passes them here; the factories take them as optional arguments, and a function without
them (reading a decision, sending a code, the phone change) sees no face, card or gate.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared.crypto import hasher
from shared.ledger.service import AccountService
from shared.ledger.wiring import account_service, ledger_service
from shared.signals.services import SignalsService
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import reputation, signals_service
from shared.signals.wiring import store as signals_store
from shared.verification.adapters import (
    BindingFirstUse,
    BoundCards,
    EnrolledFace,
    LedgerAccounts,
    NotInThisFunction,
    OnnxFeasibilityModel,
    SignalsIpReputation,
    SignalsProfiles,
    SignalsProfileWriter,
    SnsSmsNotifier,
    policy_source,
)
from shared.verification.repository import DynamoVerificationStore
from shared.verification.services import (
    ChallengeService,
    DecisionService,
    FeedbackService,
    PasswordService,
    PaymentGuardService,
    PhoneChangeService,
    TokenService,
    VerificationDeps,
)
from shared.verification.services.tokens import BindingTokens
from shared.verification.settings import VerificationSettings

if TYPE_CHECKING:
    from shared.binding.settings import BindingSettings
    from shared.face.settings import FaceApiSettings

def face_method(face: FaceApiSettings | None) -> EnrolledFace | NotInThisFunction:
    if face is None:
        return NotInThisFunction()
    from shared.face.wiring import enrolment_service

    return EnrolledFace(enrolment_service(face))


def binding_adapters(binding: BindingSettings | None) -> tuple[BoundCards | NotInThisFunction,
                                                               BindingFirstUse | NotInThisFunction]:
    if binding is None:
        return NotInThisFunction(), NotInThisFunction()
    from shared.binding.wiring import first_use_gate, user_bindings

    return BoundCards(user_bindings(binding)), BindingFirstUse(first_use_gate(binding))


@cache
def deps(settings: VerificationSettings, face: FaceApiSettings | None = None,
         binding: BindingSettings | None = None) -> VerificationDeps:
    store = DynamoVerificationStore(settings.verifications_table)
    cards, first_use = binding_adapters(binding)
    accounts = account_service(settings.ledger)
    # the activity profile without the signals' own account read: SignalsProfiles reads the account (the phone)
    # and fills the account's creation from it
    s = settings.signals
    signals = SignalsService(signals_store(s.signals_table), s, reputation(s.signals_ip_lists_file))
    return VerificationDeps(
        store=store,
        policies=policy_source(settings),
        profiles=SignalsProfiles(signals, accounts, settings.signals.utc_offset),
        profile_writer=SignalsProfileWriter(signals),
        ip_reputation=SignalsIpReputation(signals),
        notifier=SnsSmsNotifier(settings.verification_sms_sender),
        model=OnnxFeasibilityModel(settings.verification_model_dir),
        hasher=hasher(settings.personal_data_hash_secret_id, settings.verification_key_cache_seconds),
        face=face_method(face),
        cards=cards,
        first_use=first_use,
        accounts=LedgerAccounts(accounts),
    )


@cache
def decisions(settings: VerificationSettings, face: FaceApiSettings | None = None,
              binding: BindingSettings | None = None) -> DecisionService:
    return DecisionService(deps(settings, face, binding))


@cache
def challenges(settings: VerificationSettings, face: FaceApiSettings | None = None,
               binding: BindingSettings | None = None) -> ChallengeService:
    return ChallengeService(deps(settings, face, binding))


@cache
def token_service(table: str, secret_id: str, key_cache_seconds: int = 300) -> TokenService:
    """Consumes tokens with the store and the hash key only: what another capability's function needs."""
    return TokenService(DynamoVerificationStore(table), hasher(secret_id, key_cache_seconds))


def tokens(settings: VerificationSettings) -> TokenService:
    return token_service(settings.verifications_table, settings.personal_data_hash_secret_id,
                         settings.verification_key_cache_seconds)


def binding_tokens(table: str, secret_id: str) -> BindingTokens:
    """Bank binding's ``VerificationTokens`` port (``shared.binding.wiring.verification_tokens``)."""
    return BindingTokens(token_service(table, secret_id))


@cache
def passwords(settings: VerificationSettings) -> PasswordService:
    return PasswordService(deps(settings), tokens(settings))


@cache
def phone_changes(settings: VerificationSettings) -> PhoneChangeService:
    return PhoneChangeService(deps(settings), tokens(settings), challenges(settings))


@cache
def feedback(settings: VerificationSettings) -> FeedbackService:
    return FeedbackService(deps(settings))


@cache
def payment_guard(settings: VerificationSettings, face: FaceApiSettings | None = None,
                  binding: BindingSettings | None = None) -> PaymentGuardService:
    return PaymentGuardService(deps(settings, face, binding), decisions(settings, face, binding), tokens(settings))


@cache
def guarded_accounts(settings: VerificationSettings, face: FaceApiSettings | None = None,
                     binding: BindingSettings | None = None) -> AccountService:
    """The ledger's account service with the inline decision of transfers (``POST /transfers``)."""
    return AccountService(ledger_service(settings.ledger), guard=payment_guard(settings, face, binding))


@cache
def sign_ins(signals: SignalsSettings, settings: VerificationSettings, face: FaceApiSettings | None = None,
             binding: BindingSettings | None = None) -> SignalsService:
    """The risk signals' sessions service with this capability's LOGIN decision (``POST /sessions``)."""
    base = signals_service(signals)
    return SignalsService(signals_store(signals.signals_table), signals, reputation(signals.signals_ip_lists_file),
                          accounts=base.accounts, memberships=base.memberships,
                          decider=decisions(settings, face, binding))
