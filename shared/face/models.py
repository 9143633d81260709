"""Domain entities of the face capability (frozen pydantic models, numpy-free so importing them is cheap).

Coordinates are pixels of the decoded, EXIF-rotated image. Landmarks are YuNet's five points in its order:
the eye and mouth corner on the image's left first (the subject's right in a non-mirrored picture), then the
image-right ones: ``right_eye, left_eye, nose, right_mouth, left_mouth``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

Point = tuple[float, float]


class Face(BaseModel):
    model_config = ConfigDict(frozen=True)

    box: tuple[float, float, float, float]  # x, y, width, height
    score: float
    landmarks: tuple[Point, Point, Point, Point, Point]

    @property
    def size(self) -> float:
        return min(self.box[2], self.box[3])


class HeadPose(BaseModel):
    """Approximate head pose from the five landmarks (see ``shared.face.pose``), degrees.

    ``yaw`` > 0: the nose points to the image's right (the subject turned to *their* left, non-mirrored);
    ``pitch`` > 0: looking up; ``roll``: angle of the eye line."""

    model_config = ConfigDict(frozen=True)

    yaw: float
    pitch: float
    roll: float


class FaceAnalysis(BaseModel):
    """One usable face: where it is, how sharp, its pose and its L2-normalised embedding (personal data:
    never log it; store it only encrypted)."""

    model_config = ConfigDict(frozen=True)

    face: Face
    pose: HeadPose
    sharpness: float
    embedding: tuple[float, ...]
    model_version: str
    faces_found: int = 1

    def __repr__(self) -> str:  # keep the embedding out of any accidental log line or traceback
        return f"FaceAnalysis(score={self.face.score:.2f}, size={self.face.size:.0f}, model={self.model_version})"

    __str__ = __repr__


class MatchResult(BaseModel):
    """A 1:1 comparison and the threshold it was decided with (recorded for audit)."""

    model_config = ConfigDict(frozen=True)

    matched: bool
    similarity: float
    threshold: float
    model_version: str


class SearchResult(BaseModel):
    """A 1:N search: the proposed candidate (if the best clears the threshold and leads the second best by
    the margin), the scores and the reasons, for audit."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str | None
    best_id: str | None
    best_similarity: float | None
    second_similarity: float | None
    threshold: float
    margin: float
    candidates: int
    reasons: tuple[str, ...]
    model_version: str


class LivenessStep(StrEnum):
    TURN_LEFT = "TURN_LEFT"  # the user's own left (the nose moves to the image's right, non-mirrored)
    TURN_RIGHT = "TURN_RIGHT"
    LOOK_UP = "LOOK_UP"
    LOOK_DOWN = "LOOK_DOWN"


class Challenge(BaseModel):
    """A random, short, single-use sequence of head movements (storage and single use come with the API)."""

    model_config = ConfigDict(frozen=True)

    challenge_id: str
    steps: tuple[LivenessStep, ...]
    expires_at: datetime


class StepResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: LivenessStep
    passed: bool
    reasons: tuple[str, ...]
    yaw_delta: float | None = None
    pitch_delta: float | None = None
    similarity: float | None = None


class LivenessResult(BaseModel):
    """Outcome of an active challenge-response check, per step, with the thresholds used."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    steps: tuple[StepResult, ...]
    reasons: tuple[str, ...]
    yaw_threshold: float
    pitch_threshold: float
    match_threshold: float


class IssuedChallenge(BaseModel):
    """A challenge as stored: bound to the user it was issued to, single use (``used_at``)."""

    model_config = ConfigDict(frozen=True)

    challenge_id: str
    user_id: str
    steps: tuple[LivenessStep, ...]
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class FaceEnrolment(BaseModel):
    """A user's reference face for §4's FACE method: the embedding is stored only encrypted (never here)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    model_version: str
    enrolled_at: datetime
    challenge_id: str  # the liveness challenge the reference face answered (a real-name session's for REAL_NAME)
    source: Literal["SELFIE", "REAL_NAME"] = "SELFIE"  # PUT /me/face, or the live face a real-name verification matched
