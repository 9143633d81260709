"""Builds the identity services from the function's settings (loaded at import), once per container and
configuration."""

from __future__ import annotations

from functools import cache, lru_cache

from shared.identity.adapters import (
    HmacCredentialKeys,
    HttpRegistry,
    S3DocumentStore,
    StepFunctionsWorkflow,
    TableRegistry,
)
from shared.identity.ports import RealNameHolder, Registry
from shared.identity.predictor import OnnxPredictor
from shared.identity.repository import DynamoIdentityStore
from shared.identity.service import ReviewService, VerificationService, WorkflowSteps
from shared.identity.settings import IdentitySettings
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_reader


@cache
def store(table: str) -> DynamoIdentityStore:
    return DynamoIdentityStore(table)


@lru_cache(maxsize=1)
def predictor() -> OnnxPredictor:
    """One predictor per container; its ONNX sessions are created on first use."""
    return OnnxPredictor()


def registry(settings: IdentitySettings) -> Registry:
    if settings.identity_registry_backend == "http":
        return HttpRegistry(settings.identity_registry_url, timeout=settings.identity_registry_timeout_seconds,
                            attempts=settings.identity_registry_attempts)
    return TableRegistry(settings.identity_registry_table)


def real_name_holder(settings: IdentitySettings) -> RealNameHolder | None:
    """§5's directory (through its wiring); None when not configured: the registry path then fails closed."""
    if not (settings.realname_table and settings.personal_data_hash_secret_id):
        return None
    from shared.realname.wiring import directory_for

    return directory_for(settings.realname_table, settings.personal_data_hash_secret_id)


@cache
def verification_service(settings: IdentitySettings) -> VerificationService:
    return VerificationService(store(settings.identity_table),
                               StepFunctionsWorkflow(settings.identity_state_machine_arn),
                               S3DocumentStore(settings.identity_documents_bucket), settings)


@cache
def review_service(settings: IdentitySettings) -> ReviewService:
    return ReviewService(store(settings.identity_table), StepFunctionsWorkflow(settings.identity_state_machine_arn),
                         S3DocumentStore(settings.identity_documents_bucket), settings)


@cache
def workflow_steps(settings: IdentitySettings) -> WorkflowSteps:
    return WorkflowSteps(
        store(settings.identity_table), settings,
        predictor=predictor(),
        registry=registry(settings) if settings.identity_registry_table or settings.identity_registry_url else None,
        documents=S3DocumentStore(settings.identity_documents_bucket) if settings.identity_documents_bucket else None,
        realname=real_name_holder(settings),
        credential_keys=HmacCredentialKeys(settings),
        signals=signals_reader(SignalsSettings(
            signals_table=settings.signals_table, accounts_table=settings.accounts_table,
            ledger_table=settings.ledger_table, groups_table=settings.groups_table))
        if settings.signals_table else None,
    )
