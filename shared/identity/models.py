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
    submitted_at: datetime | None = None
    size: int | None = None


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
