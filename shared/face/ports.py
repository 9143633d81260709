"""The small interfaces the face services depend on (tests give fakes; ``adapters``/``repository`` the real ones)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.face.models import FaceEnrolment, IssuedChallenge

if TYPE_CHECKING:
    import numpy as np


class FaceModels(Protocol):
    """The two networks: YuNet on a 1x3x640x640 BGR tensor, SFace on 1x3x112x112 RGB tensors."""

    @property
    def version(self) -> str: ...

    def detect(self, tensor: np.ndarray) -> dict[str, np.ndarray]: ...

    def embed(self, tensor: np.ndarray) -> np.ndarray: ...


class Cipher(Protocol):
    """Field-level encryption (``shared.crypto.EnvelopeCipher``): ``context`` is bound to the ciphertext."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> str: ...

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> bytes: ...


class ChallengeStore(Protocol):
    def put(self, challenge: IssuedChallenge) -> None:
        """Put once (a colliding id raises; ids are 128-bit random)."""

    def consume(self, challenge_id: str, user_id: str, now: datetime, request: str | None = None) -> IssuedChallenge:
        """Mark used in one conditional write: it must exist, belong to ``user_id``, be unused (or, with
        ``request``, used by that same request: a retry after a crash) and ``expires_at > now`` (checked in the
        condition, not by TTL). Raises ``ChallengeNotFound`` (missing or another user's), ``ChallengeUsed`` or
        ``ChallengeExpired``."""


class EnrolmentStore(Protocol):
    def put(self, enrolment: FaceEnrolment, sealed_embedding: str) -> None:
        """Replace the user's enrolment (PUT semantics)."""

    def get(self, user_id: str) -> tuple[FaceEnrolment, str] | None:
        """The enrolment and its encrypted embedding."""

    def delete(self, user_id: str) -> None: ...
