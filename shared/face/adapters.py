"""The ONNX runtime of the face models: sessions created lazily, once per container.

``onnxruntime`` is imported on first use (~100 ms+), so a function that only issues challenges never pays
it. The model files and ``manifest.json`` come from the model layer (``/opt/model``) or, locally, from
``layers/model/models`` (built by ``make face-models``).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from shared.identity.predictor import ModelUnavailable, model_dir

DETECTOR = "face_detector"
EMBEDDER = "face_embedder"


class OnnxFaceModels:
    def __init__(self, directory: Path | None = None, threads: int = 1) -> None:
        self._dir = directory
        self._threads = threads
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._version: str | None = None

    def _manifest(self) -> tuple[Path, dict[str, Any]]:
        directory = self._dir or model_dir()
        return directory, json.loads((directory / "manifest.json").read_text())

    def _load(self) -> None:
        import onnxruntime as ort  # heavy: only the first face request of a container pays it

        directory, manifest = self._manifest()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        sessions = {}
        for role in (DETECTOR, EMBEDDER):
            entry = manifest.get(role)
            if not entry or not (directory / entry["file"]).is_file():
                raise ModelUnavailable(f"face model {role!r} missing in {directory} (run `make face-models`)")
            sessions[role] = ort.InferenceSession(str(directory / entry["file"]), sess_options=options,
                                                  providers=["CPUExecutionProvider"])
        self._version = f"{manifest[DETECTOR]['version']}+{manifest[EMBEDDER]['version']}"
        self._sessions = sessions

    def _session(self, role: str) -> Any:
        if not self._sessions:
            with self._lock:
                if not self._sessions:
                    self._load()
        return self._sessions[role]

    @property
    def version(self) -> str:
        if self._version is None:
            self._session(DETECTOR)
        assert self._version is not None
        return self._version

    def warm_up(self) -> None:
        """Create both sessions now (e.g. during a Lambda init with provisioned concurrency)."""
        self._session(DETECTOR)

    def detect(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        session = self._session(DETECTOR)
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, {"input": tensor}), strict=True))

    def embed(self, tensor: np.ndarray) -> np.ndarray:
        session = self._session(EMBEDDER)
        return np.asarray(session.run(None, {"data": tensor})[0], dtype=np.float32)
