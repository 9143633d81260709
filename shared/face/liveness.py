"""Active liveness: a random challenge of head movements and the check that the frames followed it.

This is a challenge-response check (ISO/IEC 30107-3 would call it an active, cooperative PAD *mechanism*
without a measured attack-detection rate): it proves the frames were produced *after* the challenge and
moved the way it asked, by the same person as the selfie. It is not presentation-attack detection against a
replayed video edited to order, a 3D mask or a 2D photo warped per step (``local_stack/face_frames.py``
does exactly that). Limits: docs/liveness.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.face import matching
from shared.face.challenges import new_challenge
from shared.face.errors import FaceQualityError
from shared.face.imaging import Decoded
from shared.face.models import FaceAnalysis, LivenessResult, LivenessStep, StepResult
from shared.face.settings import FaceSettings

__all__ = ["Thresholds", "check", "judge_step", "new_challenge"]

@dataclass(frozen=True)
class Thresholds:
    yaw_deg: float
    pitch_deg: float
    match: float

    @classmethod
    def of(cls, settings: FaceSettings) -> Thresholds:
        return cls(settings.liveness_yaw_deg, settings.liveness_pitch_deg, settings.face_match_threshold)


# Each step: (axis, required sign). yaw > 0 = nose to the image's right = the user's own left (non-mirrored).
_EXPECTED = {
    LivenessStep.TURN_LEFT: ("yaw", 1.0),
    LivenessStep.TURN_RIGHT: ("yaw", -1.0),
    LivenessStep.LOOK_UP: ("pitch", 1.0),
    LivenessStep.LOOK_DOWN: ("pitch", -1.0),
}


def judge_step(step: LivenessStep, yaw: float, pitch: float, t: Thresholds) -> list[str]:
    """Reasons why a pose change (degrees, relative to the selfie) does not answer ``step``; [] = it does."""
    axis, sign = _EXPECTED[step]
    primary, other = (yaw, pitch) if axis == "yaw" else (pitch, yaw)
    needed = t.yaw_deg if axis == "yaw" else t.pitch_deg
    if primary * sign < 0 and abs(primary) >= needed:
        return ["WRONG_DIRECTION"]
    if primary * sign < needed:
        return ["POSE_NOT_REACHED"]
    if abs(other) > abs(primary):
        return ["WRONG_AXIS"]
    return []


def check(selfie: FaceAnalysis, steps: Sequence[LivenessStep], frames: Sequence[Decoded], *,
          analyze: Callable[[Decoded], FaceAnalysis], thresholds: Thresholds) -> LivenessResult:
    """Each frame i must show one usable face, turned as ``steps[i]`` asks relative to the frontal selfie
    (yaw/pitch deltas beyond the thresholds, on the asked axis more than on the other) and be the selfie's
    person (cosine >= the 1:1 threshold). Every frame is judged; the result lists each step's reasons."""
    results: list[StepResult] = []
    reasons: list[str] = []
    if len(frames) != len(steps) or not steps:
        reasons.append("FRAME_COUNT_MISMATCH")
    for i, step in enumerate(steps):
        if i >= len(frames):
            results.append(StepResult(step=step, passed=False, reasons=("MISSING_FRAME",)))
            continue
        try:
            face = analyze(frames[i])
        except FaceQualityError as exc:
            results.append(StepResult(step=step, passed=False, reasons=(exc.code,)))
            continue
        yaw = face.pose.yaw - selfie.pose.yaw
        pitch = face.pose.pitch - selfie.pose.pitch
        similarity = matching.cosine_similarity(face.embedding, selfie.embedding)
        why = judge_step(step, yaw, pitch, thresholds)
        if similarity < thresholds.match:
            why.append("DIFFERENT_PERSON")
        results.append(StepResult(step=step, passed=not why, reasons=tuple(why), yaw_delta=round(yaw, 2),
                                  pitch_delta=round(pitch, 2), similarity=round(similarity, 4)))
    failed = [f"STEP_{i + 1}_{r}" for i, res in enumerate(results) for r in res.reasons]
    reasons.extend(failed)
    return LivenessResult(passed=not reasons, steps=tuple(results), reasons=tuple(reasons) or ("PASSED",),
                          yaw_threshold=thresholds.yaw_deg, pitch_threshold=thresholds.pitch_deg,
                          match_threshold=thresholds.match)
