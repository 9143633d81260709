"""Domain entities of identity verification (no HTTP, no DynamoDB shapes)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Status(StrEnum):
    PENDING = "PENDING"
    QUERYING_REGISTRY = "QUERYING_REGISTRY"
    AWAITING_DOCUMENT = "AWAITING_DOCUMENT"
    IN_REVIEW = "IN_REVIEW"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


FINAL = frozenset({Status.VERIFIED, Status.REJECTED, Status.EXPIRED})


class ReviewStatus(StrEnum):
    OPEN = "OPEN"
    DECIDED = "DECIDED"
    EXPIRED = "EXPIRED"


class Decision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


class AuditEvent(BaseModel):
    """One step of the audit trail: what was decided, when, and with which inputs."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    step: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Document(BaseModel):
    key: str
    content_type: str
    credential_number: str
    requested_at: datetime
    valid_until: date | None = None  # as printed on the credential, typed by the user (optional)
    submitted_at: datetime | None = None
    size: int | None = None


class FindingCode(StrEnum):
    """What the automated document checks found (``checks.py`` words them for the reviewer)."""

    REGISTRY_NO_RECORD = "REGISTRY_NO_RECORD"
    REGISTRY_NAME_MISMATCH = "REGISTRY_NAME_MISMATCH"
    REGISTRY_IDENTITY_TYPE_MISMATCH = "REGISTRY_IDENTITY_TYPE_MISMATCH"
    REGISTRY_KEY_MISMATCH = "REGISTRY_KEY_MISMATCH"
    REGISTRY_RECORD_INACTIVE = "REGISTRY_RECORD_INACTIVE"
    REGISTRY_UNAVAILABLE = "REGISTRY_UNAVAILABLE"
    CREDENTIAL_EXPIRED = "CREDENTIAL_EXPIRED"
    CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT = "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    DOCUMENT_IMAGE_REUSED = "DOCUMENT_IMAGE_REUSED"
    DOCUMENT_IMAGE_CHECK_INCOMPLETE = "DOCUMENT_IMAGE_CHECK_INCOMPLETE"
    AUTOMATED_CHECKS_UNAVAILABLE = "AUTOMATED_CHECKS_UNAVAILABLE"


class Finding(BaseModel):
    """One result of the automated checks for the reviewer; ``related`` names other verifications involved
    (shown to reviewers only, never to the user)."""

    model_config = ConfigDict(frozen=True)

    code: FindingCode
    message: str
    related: list[str] = Field(default_factory=list)


class Fingerprint(BaseModel):
    """A document's fingerprint: ``phash256`` (a perceptual hash of an image, compared by Hamming distance)
    or ``sha256`` (the exact bytes, for files that are not images); 64 hex digits either way."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["phash256", "sha256"]
    value: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class FingerprintEntry(BaseModel):
    """One submission in the document-fingerprint index (fingerprint -> accounts)."""

    model_config = ConfigDict(frozen=True)

    fingerprint: Fingerprint
    verification_id: str
    user_id: str
    submitted_at: datetime


class CredentialHolder(BaseModel):
    """The put-once claim "this credential is verified for this account" (keyed by a keyed hash)."""

    model_config = ConfigDict(frozen=True)

    credential_key: str
    user_id: str
    identity_type: str
    verification_id: str
    verified_at: datetime


class Verification(BaseModel):
    verification_id: str
    user_id: str
    identity_type: str
    claimed: dict[str, str]
    status: Status
    path: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    score: float | None = None
    threshold: float | None = None
    model_version: str | None = None
    missing_features: list[str] = Field(default_factory=list)  # features the profile could not give the model
    previous_verification_id: str | None = None
    review_id: str | None = None
    document: Document | None = None
    findings: list[Finding] = Field(default_factory=list)
    valid_until: date | None = None
    execution_arn: str | None = None
    created_at: datetime
    updated_at: datetime
    audit: list[AuditEvent] = Field(default_factory=list)


class Review(BaseModel):
    review_id: str
    verification_id: str
    user_id: str
    identity_type: str
    status: ReviewStatus
    created_at: datetime
    checks: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    decision: Decision | None = None
    reason: str | None = None
    reviewer: str | None = None
    decided_at: datetime | None = None


class IdentityTag(BaseModel):
    user_id: str
    identity_type: str
    verification_id: str
    path: list[str]
    valid_from: date
    valid_until: date
    verified_at: datetime


# --- what an authoritative registry answers ---------------------------------------
RegistryText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RegistryRecord(BaseModel):
    """A registry's record of a person (validated like user input, whichever adapter fetched it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identity_type: RegistryText
    fields: dict[RegistryText, RegistryText]
    status: Literal["ACTIVE", "INACTIVE"]
    valid_until: date


class MatchResult(BaseModel):
    matched: bool
    reasons: list[str]
    valid_until: date | None = None


def normalize(value: str) -> str:
    """How claimed values and registry values compare: Unicode NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
