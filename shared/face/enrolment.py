"""Face enrolment (``PUT /me/face``) and the 1:1 check against it (§4's FACE method).

``FaceEnrolmentService.enrol(user_id, challenge_id, frames, selfie) -> FaceEnrolment``
    Liveness (``LivenessService.verify``: gates, single-use challenge, frames) then the selfie's embedding,
    envelope-encrypted and bound to the user, replaces any previous enrolment. The image is not kept.

``FaceEnrolmentService.verify_user(user_id, challenge_id, frames, selfie) -> MatchResult``
    Liveness as above, then 1:1 against the user's enrolled reference (threshold from settings, recorded in
    the result). ``FACE_NOT_ENROLLED`` (404) before anything is consumed when there is no reference.
    A mismatch is a ``MatchResult(matched=False)``, not an exception: the caller counts its failures.

``FaceEnrolmentService.enrol_verified(user_id, embedding, model_version, session_id)``
    The live face a real-name verification matched (§5) becomes the reference (``source: REAL_NAME``).

``FaceEnrolmentService.status(user_id) -> FaceEnrolment | None``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.face.challenges import Clock, LivenessService
from shared.face.encoding import embedding_from_bytes, embedding_to_bytes
from shared.face.errors import FaceNotEnrolled
from shared.face.models import FaceEnrolment, MatchResult
from shared.face.ports import Cipher, EnrolmentStore

if TYPE_CHECKING:
    from shared.face.service import FaceService


def _context(user_id: str) -> dict[str, str]:
    return {"kind": "face-enrolment", "user": user_id}


class FaceEnrolmentService:
    def __init__(self, faces: FaceService, liveness: LivenessService, store: EnrolmentStore, cipher: Cipher,
                 clock: Clock) -> None:
        self.faces = faces
        self.liveness = liveness
        self.store = store
        self.cipher = cipher
        self.clock = clock

    def enrol(self, user_id: str, challenge_id: str, frames: Sequence[bytes], selfie: bytes,
              request: str | None = None) -> FaceEnrolment:
        """``request``: the request's tag; the same request retried after a crash (its challenge consumed, the
        enrolment maybe put) uses the challenge again and puts the same enrolment again (a replacement)."""
        analysis = self.liveness.verify(user_id, challenge_id, frames, selfie, request)
        enrolment = FaceEnrolment(user_id=user_id, model_version=analysis.model_version, enrolled_at=self.clock(),
                                  challenge_id=challenge_id)
        sealed = self.cipher.encrypt(embedding_to_bytes(analysis.embedding), _context(user_id))
        self.store.put(enrolment, sealed)
        return enrolment

    def enrol_verified(self, user_id: str, embedding: Sequence[float], model_version: str, session_id: str) -> None:
        """The live face of a VERIFIED real-name session (it passed liveness and matched the identity's
        authoritative photo 1:1) becomes the user's reference, replacing any earlier one: real-name's
        ``ReferenceFaces`` port."""
        enrolment = FaceEnrolment(user_id=user_id, model_version=model_version, enrolled_at=self.clock(),
                                  challenge_id=session_id, source="REAL_NAME")
        self.store.put(enrolment, self.cipher.encrypt(embedding_to_bytes(tuple(embedding)), _context(user_id)))

    def status(self, user_id: str) -> FaceEnrolment | None:
        found = self.store.get(user_id)
        return found[0] if found else None

    def reference(self, user_id: str) -> tuple[FaceEnrolment, tuple[float, ...]]:
        found = self.store.get(user_id)
        if found is None:
            raise FaceNotEnrolled()
        enrolment, sealed = found
        return enrolment, embedding_from_bytes(self.cipher.decrypt(sealed, _context(user_id)))

    def verify_user(self, user_id: str, challenge_id: str, frames: Sequence[bytes], selfie: bytes) -> MatchResult:
        _, reference = self.reference(user_id)  # 404 before the challenge is consumed
        analysis = self.liveness.verify(user_id, challenge_id, frames, selfie)
        return self.faces.verify(analysis, reference)
