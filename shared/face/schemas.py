"""API models of the face capability, mapped explicitly from entities (the routes come with the HTTP flow)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.face.models import Challenge, LivenessResult, LivenessStep, StepResult


class ChallengeResponse(BaseModel):
    challenge_id: str
    steps: list[LivenessStep]
    expires_at: datetime

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeResponse:
        return cls(challenge_id=challenge.challenge_id, steps=list(challenge.steps), expires_at=challenge.expires_at)


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
