"""Builds the verification services from the function's settings, once per container and configuration."""

from __future__ import annotations

from functools import cache

from shared.ledger.service import AccountService
from shared.ledger.wiring import account_service, ledger_service
from shared.signals.services import SignalsService
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import reputation, signals_service
from shared.signals.wiring import store as signals_store
from shared.verification.adapters import (
    LedgerAccounts,
    NoCardBindings,
    NoFace,
    NoFirstUseGate,
    OnnxFeasibilityModel,
    SecretHasher,
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
from shared.verification.settings import VerificationSettings


@cache
def deps(settings: VerificationSettings) -> VerificationDeps:
    store = DynamoVerificationStore(settings.verifications_table)
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
        hasher=SecretHasher(settings.verification_key_secret_id, settings.verification_hash_key,
                            settings.verification_key_cache_seconds),
        face=NoFace(),
        cards=NoCardBindings(),
        first_use=NoFirstUseGate(),
        accounts=LedgerAccounts(accounts),
    )


@cache
def decisions(settings: VerificationSettings) -> DecisionService:
    return DecisionService(deps(settings))


@cache
def challenges(settings: VerificationSettings) -> ChallengeService:
    return ChallengeService(deps(settings))


@cache
def tokens(settings: VerificationSettings) -> TokenService:
    return TokenService(deps(settings))


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
def payment_guard(settings: VerificationSettings) -> PaymentGuardService:
    return PaymentGuardService(deps(settings), decisions(settings), tokens(settings))


@cache
def guarded_accounts(settings: VerificationSettings) -> AccountService:
    """The ledger's account service with the inline decision of transfers (``POST /transfers``)."""
    return AccountService(ledger_service(settings.ledger), guard=payment_guard(settings))


@cache
def sign_ins(signals: SignalsSettings, settings: VerificationSettings) -> SignalsService:
    """The risk signals' sessions service with this capability's LOGIN decision (``POST /sessions``)."""
    base = signals_service(signals)
    return SignalsService(signals_store(signals.signals_table), signals, reputation(signals.signals_ip_lists_file),
                          accounts=base.accounts, memberships=base.memberships, decider=decisions(settings))
