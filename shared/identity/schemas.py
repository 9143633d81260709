"""Request/response models of the identity API and the workflow tasks (mapped explicitly from entities)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.identity.catalog import identity_type
from shared.identity.models import (
    FINAL,
    Decision,
    Finding,
    FindingCode,
    IdentityTag,
    ReviewStatus,
    Status,
    Verification,
)
from shared.identity.service import ReviewView, mask
from shared.types import Reason, ShortText, check_safe_text

VerificationIdStr = Annotated[str, StringConstraints(pattern=r"^iv_[0-9a-f]{32}$")]
ReviewIdStr = Annotated[str, StringConstraints(pattern=r"^rv_[0-9a-f]{32}$")]


# --- API requests -------------------------------------------------------------
ClaimField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]


class StartVerificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_type: str = Field(min_length=1, max_length=32, examples=["student"])
    claimed: dict[ClaimField, Any] = Field(
        max_length=10, description="The identity type's claimed fields; text is safe_text (no control or "
                                   "bidirectional-override characters, NFC-normalised).")

    @field_validator("claimed")
    @classmethod
    def _claimed_text_is_safe(cls, claimed: dict[str, Any]) -> dict[str, Any]:
        """Names and schools are shown to reviewers: the same rules as every free-text field (``safe_text``);
        the identity type's own patterns then check each field (``INVALID_CLAIM``)."""
        return {k: check_safe_text(v) if isinstance(v, str) else v for k, v in claimed.items()}


class DocumentUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(max_length=100, examples=["image/jpeg"])
    credential_number: ShortText
    valid_until: date | None = Field(
        default=None, ge=date(2000, 1, 1), le=date(2099, 12, 31),
        description="The credential's expiry date as printed on it, if it has one; a date already past is "
                    "refused (CREDENTIAL_EXPIRED). A reviewed credential's tag ends no later than this.")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: Reason


# --- API responses ------------------------------------------------------------
class DocumentView(BaseModel):
    content_type: str
    credential_number: str = Field(description="Masked.")
    valid_until: date | None
    submitted: bool


class FindingView(BaseModel):
    """A finding of the automated document checks."""

    code: FindingCode
    message: str

    @classmethod
    def of(cls, f: Finding) -> FindingView:
        return cls(code=f.code, message=f.message)


class ReviewFinding(FindingView):
    related_verification_ids: list[str] = Field(
        description="Other accounts' verifications involved (the credential's holder, the same document).")

    @classmethod
    def of(cls, f: Finding) -> ReviewFinding:
        return cls(code=f.code, message=f.message, related_verification_ids=f.related)


class VerificationResponse(BaseModel):
    verification_id: str
    identity_type: str
    status: Status
    path: list[str] = Field(description="Steps taken: model, registry, document, review.")
    reasons: list[str] = Field(description="Machine-readable reasons of each decision, in order.")
    claimed: dict[str, str] = Field(description="The claim; the credential number is masked.")
    score: float | None
    threshold: float | None
    model_version: str | None
    missing_features: list[str] = Field(description="Model features the activity profile could not give (scored "
                                                    "as missing), e.g. age_years until real-name authentication.")
    previous_verification_id: str | None
    valid_until: date | None
    document: DocumentView | None
    findings: list[FindingView] = Field(
        description="What the automated document checks found; shown once the verification has ended.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: Verification) -> VerificationResponse:
        field = identity_type(v.identity_type).credential_field
        claimed = {k: (mask(x) if k == field else x) for k, x in v.claimed.items()}
        doc = DocumentView(content_type=v.document.content_type, credential_number=mask(v.document.credential_number),
                           valid_until=v.document.valid_until,
                           submitted=v.document.submitted_at is not None) if v.document else None
        # While a person reviews, the findings stay with the reviewer (no feedback loop for a forger).
        findings = [FindingView.of(f) for f in v.findings] if v.status in FINAL else []
        return cls(verification_id=v.verification_id, identity_type=v.identity_type, status=v.status, path=v.path,
                   reasons=v.reasons, claimed=claimed, score=v.score, threshold=v.threshold,
                   model_version=v.model_version, missing_features=v.missing_features,
                   previous_verification_id=v.previous_verification_id, valid_until=v.valid_until, document=doc,
                   findings=findings, created_at=v.created_at, updated_at=v.updated_at)


class DocumentUploadResponse(BaseModel):
    upload_url: str = Field(description="POST the file here as multipart/form-data with `fields` first.")
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_in: int


class IdentityTagResponse(BaseModel):
    identity_type: str
    valid: bool = Field(description="False once valid_until has passed.")
    valid_from: date
    valid_until: date
    verification_id: str
    path: list[str]

    @classmethod
    def of(cls, tag: IdentityTag, valid: bool) -> IdentityTagResponse:
        return cls(identity_type=tag.identity_type, valid=valid, valid_from=tag.valid_from,
                   valid_until=tag.valid_until, verification_id=tag.verification_id, path=tag.path)


class IdentitiesResponse(BaseModel):
    items: list[IdentityTagResponse]


class ReviewItem(BaseModel):
    review_id: str
    verification_id: str
    status: ReviewStatus
    identity_type: str
    claimed: dict[str, str]
    credential_number: str | None
    document_content_type: str | None
    document_url: str | None = Field(description="Short-lived download URL of the uploaded credential.")
    document_valid_until: date | None = Field(description="The expiry date the user typed from the credential.")
    checks: list[str]
    findings: list[ReviewFinding] = Field(description="What the automated checks found, for the reviewer to weigh.")
    score: float | None
    threshold: float | None
    model_version: str | None
    path: list[str]
    reasons: list[str]
    created_at: datetime

    @classmethod
    def of(cls, view: ReviewView) -> ReviewItem:
        r, v = view.review, view.verification
        return cls(review_id=r.review_id, verification_id=r.verification_id, status=r.status,
                   identity_type=r.identity_type, claimed=v.claimed,
                   credential_number=v.document.credential_number if v.document else None,
                   document_content_type=v.document.content_type if v.document else None,
                   document_url=view.document_url,
                   document_valid_until=v.document.valid_until if v.document else None, checks=r.checks,
                   findings=[ReviewFinding.of(f) for f in r.findings], score=v.score, threshold=v.threshold,
                   model_version=v.model_version, path=v.path, reasons=v.reasons, created_at=r.created_at)


class ReviewsResponse(BaseModel):
    items: list[ReviewItem]
    next_token: str | None


class DecisionResponse(BaseModel):
    review_id: str
    verification_id: str
    status: ReviewStatus
    decision: Decision


# --- workflow task inputs -----------------------------------------------------
class StepInput(BaseModel):
    verification_id: str = Field(min_length=1, max_length=80)


class WaitInput(StepInput):
    task_token: str = Field(min_length=1)


class AwaitDocumentInput(WaitInput):
    reason: str = Field(min_length=1, max_length=64)


class OpenReviewInput(WaitInput):
    checks: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)


class Outcome(BaseModel):
    status: Status
    reason: str
    detail: str | None = None
    valid_until: str | None = None


class RecordOutcomeInput(StepInput):
    outcome: Outcome
