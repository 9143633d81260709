"""Typed settings of the face pipeline, matching and liveness (environment, validated at start).

The thresholds' defaults come from the measurements in ``docs/face_accuracy.md`` (``make face-accuracy``);
a test keeps the defaults equal to the values chosen there.
"""

from __future__ import annotations

from pydantic import Field

from shared.face.models import LivenessStep
from shared.settings import BaseSettings

# Chosen in docs/face_accuracy.md (training/face_eval.py prints them; tests/face/test_accuracy.py checks).
MATCH_THRESHOLD = 0.45
SEARCH_THRESHOLD = 0.45
SEARCH_MARGIN = 0.20


class FaceSettings(BaseSettings):
    # --- images (per image; the HTTP layer also caps the whole body under 5 MB, CONTRACTS.md) ------------
    face_max_image_bytes: int = Field(default=2 * 1024 * 1024, gt=0, le=4 * 1024 * 1024)
    face_max_frame_bytes: int = Field(default=1024 * 1024, gt=0, le=2 * 1024 * 1024)
    face_max_side_px: int = Field(default=4096, ge=256, le=8192)
    # --- detection and quality gates -------------------------------------------------------------------
    face_score_threshold: float = Field(default=0.8, gt=0, lt=1)  # YuNet sqrt(cls*obj)
    face_nms_iou: float = Field(default=0.3, gt=0, lt=1)
    face_min_size_px: int = Field(default=60, ge=16, le=1024)  # shorter side of the face box, original pixels
    face_second_face_ratio: float = Field(default=0.5, gt=0, le=1)  # a 2nd face this big (vs the 1st) refuses
    face_min_sharpness: float = Field(default=25.0, ge=0)  # variance of the Laplacian of the aligned face
    # --- matching ----------------------------------------------------------------------------------------
    face_match_threshold: float = Field(default=MATCH_THRESHOLD, gt=-1, lt=1)
    face_search_threshold: float = Field(default=SEARCH_THRESHOLD, gt=-1, lt=1)
    face_search_margin: float = Field(default=SEARCH_MARGIN, ge=0, lt=1)
    # --- liveness ----------------------------------------------------------------------------------------
    liveness_steps: int = Field(default=4, ge=2, le=4)  # at most 4 frames fit the 5 MB body
    # Movements a challenge draws from (comma-separated LivenessStep names). Yaw only by default: pitch is not
    # measured reliably from YuNet's 5 landmarks (docs/liveness.md); LOOK_UP/LOOK_DOWN can be enabled here.
    liveness_step_kinds: str = Field(default="TURN_LEFT,TURN_RIGHT",
                                     pattern=r"^(TURN_LEFT|TURN_RIGHT|LOOK_UP|LOOK_DOWN)(,(TURN_LEFT|TURN_RIGHT|LOOK_UP|LOOK_DOWN))+$")
    liveness_challenge_ttl_seconds: int = Field(default=120, ge=10, le=900)
    liveness_yaw_deg: float = Field(default=12.0, gt=0, le=60)
    liveness_pitch_deg: float = Field(default=6.0, gt=0, le=60)
    # --- runtime -----------------------------------------------------------------------------------------
    face_model_dir: str = ""  # default: MODEL_DIR, /opt/model, layers/model/models
    face_onnx_threads: int = Field(default=1, ge=1, le=8)  # Lambda below 1769 MB has one vCPU

    @property
    def step_kinds(self) -> tuple[LivenessStep, ...]:
        return tuple(dict.fromkeys(LivenessStep(k) for k in self.liveness_step_kinds.split(",")))


class FaceApiSettings(FaceSettings):
    """What a function serving a face route needs beyond the pipeline: its table, the KMS key of the
    envelope encryption, and the body limits of image requests (CONTRACTS.md)."""

    face_table: str = Field(min_length=1)
    face_kms_key_id: str = ""  # enrolment only: challenges are not personal data
    # One data key per container for at most this many encryptions or seconds (shared.crypto).
    face_data_key_max_uses: int = Field(default=100_000, ge=1)
    face_data_key_max_age_seconds: int = Field(default=3600, ge=60, le=24 * 3600)
    # A request body carrying images stays under Lambda's 6 MB payload limit with room for the envelope.
    face_max_body_bytes: int = Field(default=5_000_000, gt=0, le=6 * 1024 * 1024)
