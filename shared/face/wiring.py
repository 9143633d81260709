"""Builds the face service once per container from settings passed in."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from shared.face.adapters import OnnxFaceModels
from shared.face.service import FaceService
from shared.face.settings import FaceSettings


@cache
def face_models(model_dir: str = "", threads: int = 1) -> OnnxFaceModels:
    """One pair of ONNX sessions per container (created on the first image, not at import)."""
    return OnnxFaceModels(Path(model_dir) if model_dir else None, threads=threads)


@cache
def face_service(settings: FaceSettings) -> FaceService:
    return FaceService(face_models(settings.face_model_dir, settings.face_onnx_threads), settings)
