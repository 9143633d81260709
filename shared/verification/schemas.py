"""HTTP request/response models of adaptive verification, mapped explicitly from entities (``X.of(entity)``).

Secrets are write-only: a code, password, card number or image is accepted in a request and never echoed; the
token of a PASSED attempt (or a verification-free payment) is returned once and never stored in clear by
idempotency (``secret_fields=("token",)``, CONTRACTS.md)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.face.errors import NotAnImage
from shared.ledger.schemas import AccountResponse, mask_phone
from shared.types import AccountId, Money, Note, UserId
from shared.verification.models import (
    AttemptResult,
    Decision,
    Label,
    Level,
    Method,
    NetworkType,
    Operation,
    PasswordRecord,
    RiskScore,
    Status,
    Strength,
    Verification,
)
from shared.verification.services.challenges import AttemptOutcome, OtpSent
from shared.verification.services.phone import PhoneConfirmation

E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
Otp = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
MAX_IMAGE_B64 = 2_800_000  # a 2 MB image in base64
MAX_FRAME_B64 = 1_400_000  # a 1 MB frame
Base64Image = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IMAGE_B64,
                                               pattern=r"^[A-Za-z0-9+/=\s]+$")]
Base64Frame = Annotated[str, StringConstraints(min_length=1, max_length=MAX_FRAME_B64,
                                               pattern=r"^[A-Za-z0-9+/=\s]+$")]


def decode_image(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NotAnImage("The image is not valid base64.") from None


class _Out(BaseModel):
    """Response shapes. Built on first use (``defer_build``): each function builds only the shapes it serves."""

    model_config = ConfigDict(defer_build=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- trigger -------------------------------------------------------------------------------------------------
class GeoIn(_In):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class TriggerContextIn(_In):
    device_id: DeviceId = Field(description="The app's device id (compared with X-Device-Id and the profile).")
    network: NetworkType = Field(description="How the device is connected.")
    geo: GeoIn | None = Field(default=None, description="The device's position, if the user shares it.")
    amount: Money | None = Field(default=None, description="PAYMENT: the amount the token will be bound to.")
    payee_account_id: AccountId | None = Field(default=None, description="PAYMENT: the payee it is bound to.")
    phone: E164 | None = Field(default=None, description="The phone number the client supplied (compared with the "
                                                         "account's; never echoed).")
    face_image: Base64Image | None = Field(default=None, description="Optional face capture (base64 JPEG/PNG): "
                                                                    "scored as biometric risk against the enrolled "
                                                                    "face; not kept.")


class CreateVerificationRequest(_In):
    operation: Operation
    context: TriggerContextIn

    @model_validator(mode="after")
    def _payment_is_bound(self) -> Self:
        if self.operation is Operation.PAYMENT and (self.context.amount is None or not self.context.payee_account_id):
            raise ValueError("a PAYMENT trigger needs context.amount and context.payee_account_id")
        return self


class RiskScoreOut(_Out):
    score: float
    level: Level
    reasons: list[str]
    contributions: dict[str, float] = Field(description="Each fired signal's contribution to the score.")

    @classmethod
    def of(cls, r: RiskScore) -> RiskScoreOut:
        return cls(score=r.score, level=r.level, reasons=list(r.reasons), contributions=dict(r.contributions))


class RiskOut(_Out):
    account: RiskScoreOut
    biometric: RiskScoreOut | None = None
    network: RiskScoreOut


class ExemptionOut(_Out):
    rule: str = Field(examples=["LOW_VALUE"])
    model_score: float
    model_threshold: float
    model_version: str
    detail: dict[str, Any] = Field(default_factory=dict)


class MethodRiskOut(_Out):
    score: float
    threshold: float
    allowed: bool


class InactiveOut(_Out):
    days_inactive: float | None
    cutoff_days: float
    inactive: bool
    methods: dict[str, MethodRiskOut] = Field(default_factory=dict)


class VerificationResponse(_Out):
    verification_id: str
    operation: Operation
    decision: Decision
    strength: Strength | None = None
    methods: list[Method]
    risk: RiskOut
    exemption: ExemptionOut | None = None
    reasons: list[str] = Field(description="Why this decision (rule names), besides the risk reasons.")
    status: Status
    tries_left: int
    inactive: InactiveOut | None = None
    model_score: float | None = None
    model_version: str | None = None
    policy_version: str
    amount: Money | None = None
    payee_account_id: str | None = None
    created_at: datetime
    expires_at: datetime
    token: str | None = Field(default=None, description="Verification-free PAYMENT: the token for the protected "
                                                        "call (X-Verification-Token). Returned once; a replay "
                                                        "answers null.")
    token_expires_at: datetime | None = None

    @classmethod
    def of(cls, v: Verification, token: str | None = None, token_expires_at: datetime | None = None
           ) -> VerificationResponse:
        o = v.outcome
        inactive = None
        if o.inactive is not None:
            inactive = InactiveOut(days_inactive=o.inactive.days_inactive, cutoff_days=o.inactive.cutoff_days,
                                   inactive=o.inactive.inactive,
                                   methods={k: MethodRiskOut(**m.model_dump()) for k, m in o.inactive.methods.items()})
        return cls(
            verification_id=v.verification_id, operation=v.operation, decision=o.decision, strength=o.strength,
            methods=list(o.methods),
            risk=RiskOut(account=RiskScoreOut.of(o.risk.account), network=RiskScoreOut.of(o.risk.network),
                         biometric=RiskScoreOut.of(o.risk.biometric) if o.risk.biometric else None),
            exemption=ExemptionOut(**o.exemption.model_dump()) if o.exemption else None, reasons=list(o.reasons),
            status=v.status, tries_left=v.tries_left, inactive=inactive,
            model_score=o.feasibility.score if o.feasibility else None,
            model_version=o.feasibility.model_version if o.feasibility else None, policy_version=o.policy_version,
            amount=v.amount, payee_account_id=v.payee_account_id, created_at=v.created_at, expires_at=v.expires_at,
            token=token, token_expires_at=token_expires_at)


class DecisionRecordResponse(VerificationResponse):
    """The audit view (admin, reviewer): the decision with its owner, label and the model's input features."""

    owner: str
    session_id: str | None = None
    device_id: str
    ip_prefix: str | None = None
    network: NetworkType
    purpose: str | None = None
    passed_method: Method | None = None
    passed_at: datetime | None = None
    features: list[float] = Field(default_factory=list)
    label: Label | None = None
    label_note: str | None = None
    labelled_by: str | None = None

    @classmethod
    def record(cls, v: Verification) -> DecisionRecordResponse:
        base = VerificationResponse.of(v).model_dump(exclude={"token", "token_expires_at"})
        return cls(**base, owner=v.owner, session_id=v.session_id, device_id=v.device_id, ip_prefix=v.ip_prefix,
                   network=v.network, purpose=v.purpose, passed_method=v.passed_method, passed_at=v.passed_at,
                   features=list(v.outcome.feasibility.features) if v.outcome.feasibility else [],
                   label=v.label, label_note=v.label_note, labelled_by=v.labelled_by)


class DecisionListResponse(_Out):
    user_id: str
    items: list[DecisionRecordResponse]
    next_token: str | None = None


# --- challenges ----------------------------------------------------------------------------------------------
class OtpSentResponse(_Out):
    verification_id: str
    sent_to: str = Field(description="The account's phone, masked.", examples=["+86138****5678"])
    expires_at: datetime
    resend_after: datetime
    tries_left: int

    @classmethod
    def of(cls, sent: OtpSent) -> OtpSentResponse:
        return cls(verification_id=sent.verification.verification_id, sent_to=mask_phone(sent.phone) or "",
                   expires_at=sent.expires_at, resend_after=sent.resend_after,
                   tries_left=sent.verification.tries_left)


class CardIn(_In):
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$")] = Field(
        description="The ID number the bank recorded for the binding (18 characters); never stored or echoed.")


class LivenessIn(_In):
    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    frames: list[Base64Frame] = Field(min_length=1, max_length=4)


class AttemptRequest(_In):
    method: Method
    otp: Otp | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    face_image: Base64Image | None = None
    liveness: LivenessIn | None = None
    card: CardIn | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        needed = {Method.SMS_OTP: {"otp"}, Method.PASSWORD: {"password"}, Method.FACE: {"face_image", "liveness"},
                  Method.CARD: {"card"}}[self.method]
        given = {f for f in ("otp", "password", "face_image", "liveness", "card") if getattr(self, f) is not None}
        if given != needed:
            raise ValueError(f"{self.method.value} takes exactly: {', '.join(sorted(needed))}")
        return self


class AttemptResponse(_Out):
    verification_id: str
    method: Method
    result: AttemptResult
    tries_left: int
    token: str | None = Field(default=None, description="PASSED (PAYMENT, ACCOUNT_UPDATE): the verification token "
                                                        "(X-Verification-Token), single use. Returned once; a "
                                                        "replay of the attempt answers null.")
    token_expires_at: datetime | None = None
    gate_cleared: bool | None = Field(default=None, description="BINDING_FIRST_USE: the binding's first-use gate "
                                                                "was lifted by this verification.")

    @classmethod
    def of(cls, outcome: AttemptOutcome, method: Method) -> AttemptResponse:
        return cls(verification_id=outcome.verification.verification_id, method=method, result=outcome.result,
                   tries_left=outcome.tries_left, token=outcome.token.token if outcome.token else None,
                   token_expires_at=outcome.token.expires_at if outcome.token else outcome.token_expires_at,
                   gate_cleared=outcome.gate_cleared)


# --- enrolment and protected operations ----------------------------------------------------------------------
class PaymentPasswordRequest(_In):
    password: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="6-64 characters; not repeated or sequential. Never stored in clear or echoed.")


class PaymentPasswordResponse(_Out):
    set: bool = True
    changed: bool = Field(description="False for the first password, True when it replaced one.")
    changed_at: datetime

    @classmethod
    def of(cls, record: PasswordRecord, changed: bool) -> PaymentPasswordResponse:
        return cls(changed=changed, changed_at=record.changed_at)


class UpdateMyAccountRequest(_In):
    phone: E164 = Field(description="The new phone (E.164); confirmed by a code sent to it before it replaces the "
                                    "current one.")


class PhoneChangeResponse(_Out):
    status: str = Field(default="CONFIRMATION_SENT")
    phone: str = Field(description="The new phone, masked.")
    expires_at: datetime = Field(description="Confirm with POST /accounts/me/phone/confirmation before this.")


class ConfirmPhoneRequest(_In):
    otp: Otp


class PhoneConfirmationResponse(_Out):
    result: AttemptResult
    tries_left: int
    account: AccountResponse | None = None

    @classmethod
    def of(cls, c: PhoneConfirmation) -> PhoneConfirmationResponse:
        return cls(result=c.result, tries_left=c.tries_left,
                   account=AccountResponse.of(c.account) if c.account else None)


class FeedbackRequest(_In):
    label: Label
    note: Note | None = None


class FeedbackResponse(_Out):
    verification_id: str
    label: Label
    note: str | None = None
    labelled_by: str
    labelled_at: datetime

    @classmethod
    def of(cls, v: Verification) -> FeedbackResponse:
        assert v.label is not None and v.labelled_by is not None and v.labelled_at is not None
        return cls(verification_id=v.verification_id, label=v.label, note=v.label_note, labelled_by=v.labelled_by,
                   labelled_at=v.labelled_at)


__all__ = ["UserId"]
