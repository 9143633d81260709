"""The small interfaces the face service depends on (tests give fakes; ``adapters`` has the ONNX one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class FaceModels(Protocol):
    """The two networks: YuNet on a 1x3x640x640 BGR tensor, SFace on 1x3x112x112 RGB tensors."""

    @property
    def version(self) -> str: ...

    def detect(self, tensor: np.ndarray) -> dict[str, np.ndarray]: ...

    def embed(self, tensor: np.ndarray) -> np.ndarray: ...
