"""Builds the binding services from the function's settings, once per container and configuration."""

from __future__ import annotations

from functools import cache

from shared.binding.adapters import (
    CognitoUserDirectory,
    HttpCallbackSender,
    PendingVerificationService,
    RealNameRecordIdentities,
    StepFunctionsWorkflow,
    TableUserDirectory,
)
from shared.binding.ports import Cipher, UserDirectory, VerificationTokens
from shared.binding.repository import DynamoBindingStore, DynamoPartnerStore
from shared.binding.services import (
    BindingDeps,
    BindingRequestService,
    BindingSteps,
    CardHolderService,
    FirstUseGate,
    PartnerAuthenticator,
    PartnerService,
    UserBindingService,
)
from shared.binding.settings import BindingSettings
from shared.crypto import cipher, hasher
from shared.ledger.wiring import account_service
from shared.signals.ports import SignalsWriter
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_writer

# KMS encryption contexts (``EnvelopeCipher``'s purpose): partner signing secrets apart from customers' personal
# data, so a sealed secret never opens as personal data and the other way round (and CloudTrail tells them apart).
PERSONAL_DATA_PURPOSE = "wallet-binding"
PARTNER_SECRETS_PURPOSE = "wallet-binding-partner-keys"  # a KMS encryption context value, not a secret


def personal_data_cipher(key_id: str) -> Cipher:
    """Customers' names and card holders' ID numbers (the platform's ``PersonalDataKey``)."""
    return cipher(key_id, PERSONAL_DATA_PURPOSE)


@cache
def card_holders(bindings_table: str, key_id: str) -> CardHolderService:
    """What §5 (real-name) reads: the ID numbers of the holders of a user's bound cards. Light: no ledger, no
    partner table, no workflow; built from the two values the reading function has."""
    return CardHolderService(DynamoBindingStore(bindings_table), personal_data_cipher(key_id))


def user_directory(settings: BindingSettings, store: DynamoBindingStore) -> UserDirectory:
    if settings.binding_user_directory == "cognito":
        return CognitoUserDirectory(settings.user_pool_id)
    return TableUserDirectory(store)


def verification_tokens(settings: BindingSettings) -> VerificationTokens:
    """§4's token check: a verification token consumed once by adaptive verification's ``TokenService``, where the
    function is given §4's table (``VERIFICATIONS_TABLE``: the unbind); elsewhere none verifies (fails closed)."""
    if not settings.verifications_table:
        return PendingVerificationService()
    from shared.verification.wiring import binding_tokens  # §4's wiring builds binding's gate: import on use

    return binding_tokens(settings.verifications_table, settings.personal_data_hash_secret_id)


def binding_signals(settings: BindingSettings) -> SignalsWriter | None:
    """The activity profile's writer (bindings are trusted information for §5), where the function writes it."""
    return signals_writer(SignalsSettings(signals_table=settings.signals_table)) if settings.signals_table else None


@cache
def deps(settings: BindingSettings) -> BindingDeps:
    store = DynamoBindingStore(settings.bindings_table)
    return BindingDeps(
        bindings=store,
        partners=DynamoPartnerStore(settings.partners_table, settings.bindings_table),
        accounts=account_service(settings.ledger),
        cipher=personal_data_cipher(settings.personal_data_key_id),
        secrets_cipher=cipher(settings.personal_data_key_id, PARTNER_SECRETS_PURPOSE),
        hasher=hasher(settings.personal_data_hash_secret_id, settings.personal_data_hash_cache_seconds),
        directory=user_directory(settings, store),
        workflow=StepFunctionsWorkflow(settings.binding_state_machine_arn),
        callbacks=HttpCallbackSender(settings.binding_callback_timeout_seconds),
        real_names=RealNameRecordIdentities(settings.realname_table, settings.personal_data_hash_secret_id),
        verifier=verification_tokens(settings),
        settings=settings,
        signals=binding_signals(settings),
    )


@cache
def partners(settings: BindingSettings) -> PartnerService:
    return PartnerService(deps(settings))


@cache
def authenticator(settings: BindingSettings) -> PartnerAuthenticator:
    return PartnerAuthenticator(deps(settings))


@cache
def requests(settings: BindingSettings) -> BindingRequestService:
    return BindingRequestService(deps(settings))


@cache
def steps(settings: BindingSettings) -> BindingSteps:
    return BindingSteps(deps(settings))


@cache
def user_bindings(settings: BindingSettings) -> UserBindingService:
    return UserBindingService(deps(settings))


@cache
def first_use_gate(settings: BindingSettings) -> FirstUseGate:
    """The ``FirstUseGatePort`` §4 calls when a BINDING_FIRST_USE verification passes."""
    return FirstUseGate(deps(settings))
