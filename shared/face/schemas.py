"""API models of the face capability, mapped explicitly from entities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.face.encoding import decode_base64_image
from shared.face.models import (
    Challenge,
    FaceEnrolment,
    IssuedChallenge,
    LivenessResult,
    LivenessStep,
    StepResult,
)
from shared.face.settings import FaceApiSettings

ChallengeId = Annotated[str, StringConstraints(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
# Base64 JPEG/PNG. The size limits are the service's (413 IMAGE_TOO_LARGE, CONTRACTS.md), not the schema's
# (which would answer 422): the schema only caps what it will hold at the body limit.
Base64Image = Annotated[str, StringConstraints(min_length=1, max_length=6 * 1024 * 1024)]


class ChallengeResponse(BaseModel):
    challenge_id: str
    steps: list[LivenessStep] = Field(description="Head movements, one frame per step, in this order.")
    expires_at: datetime

    @classmethod
    def of(cls, challenge: Challenge | IssuedChallenge) -> ChallengeResponse:
        return cls(challenge_id=challenge.challenge_id, steps=list(challenge.steps), expires_at=challenge.expires_at)


class LivenessProof(BaseModel):
    """The answer to a challenge: one base64 JPEG/PNG frame per step, in order (at most 4, each <= 1 MB)."""

    model_config = ConfigDict(extra="forbid")

    challenge_id: ChallengeId
    frames: list[Base64Image] = Field(min_length=1, max_length=4)

    def frame_bytes(self, settings: FaceApiSettings) -> list[bytes]:
        return [decode_base64_image(f, max_encoded=settings.face_max_frame_bytes, what=f"frame {i + 1}")
                for i, f in enumerate(self.frames)]


class FaceProof(BaseModel):
    """A selfie and the liveness answer made right after it: what every face use sends."""

    model_config = ConfigDict(extra="forbid")

    face_image: Base64Image = Field(description="Base64 JPEG or PNG, at most 2 MB encoded, 4096x4096 pixels.")
    liveness: LivenessProof

    def selfie_bytes(self, settings: FaceApiSettings) -> bytes:
        return decode_base64_image(self.face_image, max_encoded=settings.face_max_image_bytes, what="face_image")


class EnrolFaceRequest(FaceProof):
    """``PUT /me/face``: enrol the caller's reference face (for §4's FACE method)."""


class FaceEnrolmentResponse(BaseModel):
    enrolled: bool
    model_version: str | None = None
    enrolled_at: datetime | None = None

    @classmethod
    def of(cls, enrolment: FaceEnrolment | None) -> FaceEnrolmentResponse:
        if enrolment is None:
            return cls(enrolled=False)
        return cls(enrolled=True, model_version=enrolment.model_version, enrolled_at=enrolment.enrolled_at)


class StepReport(BaseModel):
    step: LivenessStep
    passed: bool
    reasons: list[str]

    @classmethod
    def of(cls, result: StepResult) -> StepReport:
        return cls(step=result.step, passed=result.passed, reasons=list(result.reasons))


class LivenessReport(BaseModel):
    """What a client may see of a liveness check: per-step outcome and reasons, no scores or angles."""

    passed: bool
    steps: list[StepReport]

    @classmethod
    def of(cls, result: LivenessResult) -> LivenessReport:
        return cls(passed=result.passed, steps=[StepReport.of(s) for s in result.steps])
