"""Active liveness: challenges, the pose judgement, and the local frame generator against the real check."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from local_stack.face_frames import liveness_frames
from shared.face.imaging import TEMPLATE
from shared.face.liveness import Thresholds, judge_step, new_challenge
from shared.face.models import FaceAnalysis, LivenessStep
from shared.face.pose import head_pose
from shared.face.service import FaceService
from shared.face.settings import FaceSettings

L, R, U, D = LivenessStep.TURN_LEFT, LivenessStep.TURN_RIGHT, LivenessStep.LOOK_UP, LivenessStep.LOOK_DOWN
STEPS = [L, R, R, L]


def test_challenges_are_random_short_and_single_use_ids() -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    seen, ids = set(), set()
    for _ in range(300):
        c = new_challenge(4, 120, kinds=(L, R), now=now)
        assert len(c.steps) == 4 and set(c.steps) <= {L, R}
        assert c.expires_at == now + timedelta(seconds=120) and len(c.challenge_id) >= 22
        seen.add(c.steps)
        ids.add(c.challenge_id)
    assert len(seen) == 16 and len(ids) == 300  # every sequence occurs; ids never repeat
    assert set(new_challenge(4, 60, kinds=tuple(LivenessStep)).steps) <= set(LivenessStep)
    assert FaceSettings().step_kinds == (L, R) and FaceSettings().liveness_steps == 4
    with pytest.raises(ValueError, match="two kinds"):
        new_challenge(3, 60, kinds=(L,))
    assert FaceSettings(liveness_step_kinds="TURN_LEFT,TURN_RIGHT").step_kinds == (L, R)


def test_pose_from_landmarks() -> None:
    frontal = head_pose([tuple(p) for p in TEMPLATE])
    assert abs(frontal.yaw) < 1 and abs(frontal.pitch) < 2 and abs(frontal.roll) < 1
    marks = [tuple(p) for p in TEMPLATE]
    marks[2] = (marks[2][0] + 6, marks[2][1])  # nose towards the image's right
    assert head_pose(marks).yaw > 15
    marks[2] = (TEMPLATE[2][0], TEMPLATE[2][1] - 5)  # nose up towards the eyes
    assert head_pose(marks).pitch > 10


def test_judge_step() -> None:
    t = Thresholds(yaw_deg=12, pitch_deg=6, match=0.45)
    assert judge_step(L, 15, 2, t) == []
    assert judge_step(L, -15, 0, t) == ["WRONG_DIRECTION"]
    assert judge_step(L, 5, 0, t) == ["POSE_NOT_REACHED"]
    assert judge_step(U, 13, 8, t) == ["WRONG_AXIS"]
    assert judge_step(D, 0, -7, t) == []


@pytest.fixture(scope="module")
def obama_frames(service: FaceService, photos: dict[str, bytes]) -> list[bytes]:
    return liveness_frames(photos["obama"], STEPS, service=service)


def test_generated_frames_pass_the_check(service: FaceService, analyze: Callable[[str], FaceAnalysis],
                                         obama_frames: list[bytes]) -> None:
    assert len(obama_frames) == 4 and all(len(f) < service.settings.face_max_frame_bytes for f in obama_frames)
    frames = [service.decode_frame(f) for f in obama_frames]
    result = service.check_liveness(analyze("obama"), STEPS, frames)
    assert result.passed, result
    assert [s.step for s in result.steps] == STEPS and all(s.passed for s in result.steps)
    assert result.steps[0].yaw_delta > 12 and result.steps[1].yaw_delta < -12
    # Against another photo of the same person the frames are still that person (poses are judged relative to
    # whichever selfie is given, so only the identity part is asserted here).
    other_photo = service.check_liveness(analyze("obama_senate"), STEPS, frames)
    assert all("DIFFERENT_PERSON" not in s.reasons for s in other_photo.steps)


def test_frames_in_the_wrong_order_fail(service: FaceService, analyze: Callable[[str], FaceAnalysis],
                                        obama_frames: list[bytes]) -> None:
    frames = [service.decode_frame(f) for f in obama_frames]
    result = service.check_liveness(analyze("obama"), [R, L, L, R], frames)  # every step answered wrongly
    assert not result.passed
    assert all(s.reasons == ("WRONG_DIRECTION",) for s in result.steps)
    shifted = service.check_liveness(analyze("obama"), [L, R, L, R], frames)  # steps 3 and 4 swapped
    assert not shifted.passed and shifted.steps[0].passed and shifted.steps[1].passed
    assert not shifted.steps[2].passed and not shifted.steps[3].passed


def test_frames_of_another_person_fail(service: FaceService, analyze: Callable[[str], FaceAnalysis],
                                       photos: dict[str, bytes]) -> None:
    frames = [service.decode_frame(f) for f in liveness_frames(photos["sunak"], [L, R], service=service)]
    result = service.check_liveness(analyze("obama"), [L, R], frames)
    assert not result.passed
    assert all("DIFFERENT_PERSON" in s.reasons for s in result.steps)


def test_a_replayed_still_photo_fails(service: FaceService, photos: dict[str, bytes],
                                      analyze: Callable[[str], FaceAnalysis]) -> None:
    still = service.decode_frame(photos["obama_senate"])
    result = service.check_liveness(analyze("obama_senate"), [L, R, L], [still, still, still])
    assert not result.passed and all("POSE_NOT_REACHED" in s.reasons for s in result.steps)


def test_missing_frames_and_frames_without_a_face(service: FaceService, analyze: Callable[[str], FaceAnalysis],
                                                  obama_frames: list[bytes]) -> None:
    blank = Image.new("RGB", (640, 480), "white")
    buffer = io.BytesIO()
    blank.save(buffer, format="JPEG")
    frames = [service.decode_frame(obama_frames[0]), service.decode_frame(buffer.getvalue())]
    result = service.check_liveness(analyze("obama"), [L, R, R], frames)
    assert not result.passed
    assert "FRAME_COUNT_MISMATCH" in result.reasons
    assert result.steps[0].passed and result.steps[1].reasons == ("NO_FACE",)
    assert result.steps[2].reasons == ("MISSING_FRAME",)
