"""The small interfaces the identity services depend on (DynamoDB, S3, Step Functions, registry, model).

The activity profile the model scores comes from risk signals' ``SignalsReader`` port
(``shared.signals.ports``), re-exported here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from shared.identity.catalog import IdentityType
from shared.signals.ports import SignalsReader

__all__ = ["DocumentStore", "IdentityStore", "Registry", "SignalsReader", "Workflow"]

from shared.identity.models import (
    AuditEvent,
    CredentialHolder,
    FingerprintEntry,
    IdentityTag,
    RegistryRecord,
    Review,
    ReviewStatus,
    Status,
    Verification,
)


class IdentityStore(Protocol):
    def create_verification(self, v: Verification, previous_id: str | None) -> None: ...
    def get_verification(self, verification_id: str) -> tuple[Verification, dict[str, Any]] | None: ...
    def latest_verification_id(self, user_id: str, identity_type: str) -> str | None: ...
    def update_verification(self, verification_id: str, *, audit: AuditEvent,
                            expect: Iterable[Status] | None = None, status: Status | None = None,
                            fields: Mapping[str, Any] | None = None, path: list[str] | None = None,
                            reasons: list[str] | None = None, remove: Iterable[str] = (),
                            require: Mapping[str, Any] | None = None) -> Verification: ...
    def record_outcome(self, verification_id: str, status: Status, fields: Mapping[str, Any], reasons: list[str],
                       audit: AuditEvent, tag: IdentityTag | None, holder: CredentialHolder | None = None) -> None:
        """The final status, with the tag and the put-once credential holder when verified, in one write;
        ``CredentialHeldElsewhere`` if the credential is already verified for another account."""
        ...
    def credential_holder(self, credential_key: str) -> CredentialHolder | None: ...
    def index_fingerprint(self, entry: FingerprintEntry, keys: list[str]) -> None:
        """Store one submission's fingerprint under each of its index keys (idempotent)."""
        ...
    def fingerprints_under(self, keys: list[str], since: datetime, limit: int) -> tuple[list[FingerprintEntry], bool]:
        """Submissions indexed under any of ``keys`` since ``since``, at most ``limit`` items read
        (``True`` when there were more)."""
        ...
    def list_tags(self, user_id: str) -> list[IdentityTag]: ...
    def open_review(self, review: Review, task_token: str) -> None: ...
    def get_review(self, review_id: str) -> tuple[Review, str | None] | None: ...
    def close_review(self, review_id: str, status: ReviewStatus, fields: Mapping[str, Any],
                     expect: ReviewStatus = ReviewStatus.OPEN, keep_token: bool = False) -> Review: ...
    def forget_review_token(self, review_id: str, token: str) -> None: ...
    def list_open_reviews(self, limit: int, cursor: str | None) -> tuple[list[Review], str | None]: ...


class DocumentStore(Protocol):
    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]: ...
    def head(self, key: str) -> tuple[int, str] | None: ...
    def read(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes (at most ``max_bytes + 1``, so a caller sees that it is larger)."""
        ...
    def delete(self, key: str) -> None: ...
    def presigned_get(self, key: str, expires: int) -> str: ...


class Workflow(Protocol):
    def start(self, name: str, payload: str) -> str: ...
    def resume(self, task_token: str, output: str) -> None: ...


class CredentialKeys(Protocol):
    """Keyed hashes naming a credential in the credential index (the key never leaves the adapter)."""

    def key_for(self, identity_type: IdentityType, fields: Mapping[str, str]) -> str: ...


class Registry(Protocol):
    """An authoritative registry (``adapters.TableRegistry`` embedded, ``adapters.HttpRegistry`` over HTTPS).

    Only the registry key fields are sent (data minimisation); the name is compared by the service, never sent.
    Raises ``RegistryUnavailable`` when the registry cannot answer (the state machine retries it)."""

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None: ...


class RealNameHolder(Protocol):
    """The account holder's verified real-name identity (§5's ``RealNameDirectory``): keyed hashes only."""

    def verified_hashes(self, user_id: str) -> tuple[str, str] | None:
        """(ID-number hash, name hash) of the user's verified identity; None if not real-name verified."""

    def id_hash(self, id_number: str) -> str: ...

    def name_hash(self, name: str) -> str: ...
