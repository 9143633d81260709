"""The identity predictor: an interface, and its ONNX implementation.

The ONNX sessions are created lazily (first prediction per model) and once per
container; ``onnxruntime`` and ``numpy`` are imported only then, so functions
that never score do not pay the import. Models and their ``manifest.json``
come from the model layer (``/opt/model`` on Lambda) or, locally, from
``layers/model/models`` in the repository.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from shared.identity.features import N_FEATURES

LAYER_MODEL_DIR = Path("/opt/model")
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "layers" / "model" / "models"


class Prediction(BaseModel):
    probability: float
    model_version: str


class Predictor(Protocol):
    def predict(self, model: str, features: Sequence[float]) -> Prediction: ...


class ModelUnavailable(RuntimeError):
    """The model file or its manifest entry is missing (a deployment error, not the caller's)."""


def model_dir() -> Path:
    for candidate in (os.environ.get("MODEL_DIR"), LAYER_MODEL_DIR, REPO_MODEL_DIR):
        if candidate and (Path(candidate) / "manifest.json").is_file():
            return Path(candidate)
    raise ModelUnavailable("no model directory with a manifest.json (MODEL_DIR, /opt/model, layers/model/models)")


class OnnxPredictor:
    """onnxruntime sessions, one per model, created on first use and reused for the container's life."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory
        self._sessions: dict[str, tuple[Any, str]] = {}
        self._lock = threading.Lock()

    def _load(self, model: str) -> tuple[Any, str]:
        import onnxruntime as ort  # heavy (~100 ms): only the scoring function pays it, once

        directory = self._dir or model_dir()
        manifest = json.loads((directory / "manifest.json").read_text())
        entry = manifest.get(model)
        if not entry:
            raise ModelUnavailable(f"model {model!r} is not in the manifest")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one row per call: threads only add overhead
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(directory / entry["file"]), sess_options=options,
                                       providers=["CPUExecutionProvider"])
        return session, str(entry["version"])

    def session(self, model: str) -> tuple[Any, str]:
        if model not in self._sessions:
            with self._lock:
                if model not in self._sessions:
                    self._sessions[model] = self._load(model)
        return self._sessions[model]

    def predict(self, model: str, features: Sequence[float]) -> Prediction:
        import numpy as np

        if len(features) != N_FEATURES:
            raise ValueError(f"expected {N_FEATURES} features, got {len(features)}")
        session, version = self.session(model)
        x = np.asarray([features], dtype=np.float32)
        probabilities = session.run(["probabilities"], {"features": x})[0]
        return Prediction(probability=float(probabilities[0][1]), model_version=version)
