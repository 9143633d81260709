"""Builds the face services once per container from settings passed in.

Other capabilities (real-name sessions, §4's FACE method) build what they need here, from a
``FaceApiSettings`` (or a subclass) loaded at their handler's import:

* ``challenge_service(settings)``  -> ``ChallengeService``  (issue challenges)
* ``liveness_service(settings)``   -> ``LivenessService``   (check/verify a liveness answer; consumes once)
* ``enrolment_service(settings)``  -> ``FaceEnrolmentService`` (enrol; 1:1 against the enrolled face)
* ``face_service(settings)``       -> ``FaceService``       (the pipeline, matching)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from shared.clock import utcnow
from shared.crypto import EnvelopeCipher, cipher
from shared.face.challenges import ChallengeService, LivenessService
from shared.face.enrolment import FaceEnrolmentService
from shared.face.repository import DynamoFaceStore, EnrolmentTable
from shared.face.settings import FaceApiSettings, FaceSettings

if TYPE_CHECKING:
    from shared.face.adapters import OnnxFaceModels
    from shared.face.service import FaceService


@cache
def face_models(model_dir: str = "", threads: int = 1) -> OnnxFaceModels:
    """One pair of ONNX sessions per container (created on the first image, not at import)."""
    from shared.face.adapters import OnnxFaceModels  # numpy: only functions that process images load it

    return OnnxFaceModels(Path(model_dir) if model_dir else None, threads=threads)


def _pipeline(settings: FaceSettings) -> FaceSettings:
    """The pipeline's part of any subclass, so every capability shares one FaceService per container."""
    return FaceSettings.model_validate({k: getattr(settings, k) for k in FaceSettings.model_fields})


@cache
def _face_service(settings: FaceSettings) -> FaceService:
    from shared.face.service import FaceService  # numpy + Pillow

    return FaceService(face_models(settings.face_model_dir, settings.face_onnx_threads), settings)


def face_service(settings: FaceSettings) -> FaceService:
    return _face_service(_pipeline(settings))


@cache
def face_store(table: str) -> DynamoFaceStore:
    return DynamoFaceStore(table)


def face_cipher(settings: FaceApiSettings) -> EnvelopeCipher:
    if not settings.face_kms_key_id:
        raise RuntimeError("FACE_KMS_KEY_ID is required by face enrolment")
    return cipher(settings.face_kms_key_id, "wallet-face", settings.face_data_key_max_uses,
                           settings.face_data_key_max_age_seconds)


@cache
def challenge_service(settings: FaceApiSettings) -> ChallengeService:
    return ChallengeService(settings, face_store(settings.face_table))


@cache
def liveness_service(settings: FaceApiSettings) -> LivenessService:
    return LivenessService(face_service(settings), face_store(settings.face_table))


@cache
def enrolment_service(settings: FaceApiSettings) -> FaceEnrolmentService:
    return FaceEnrolmentService(face_service(settings), liveness_service(settings),
                                EnrolmentTable(face_store(settings.face_table)), face_cipher(settings), utcnow)
