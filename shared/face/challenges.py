"""Liveness challenges and the one liveness check every face use calls (real-name sessions, face enrolment,
§4's FACE method). This is the service API other capabilities consume:

``ChallengeService.issue(user_id) -> IssuedChallenge``
    A random, short-lived, single-use sequence of head movements, stored bound to the caller
    (``POST /real-name/challenges``).

``LivenessService.check(user_id, challenge_id, frames, selfie) -> LivenessOutcome``
    1. the selfie through the pipeline's quality gates (``NOT_AN_IMAGE`` 400, ``IMAGE_TOO_LARGE`` 413,
       ``NO_FACE``/``MULTIPLE_FACES``/``FACE_TOO_SMALL``/``LOW_QUALITY`` 422) and every frame decoded with its
       limits: nothing is consumed while the input itself is unusable;
    2. the challenge consumed once (conditional write: the caller's, unused, unexpired; else
       ``CHALLENGE_NOT_FOUND`` 404 / ``CHALLENGE_ALREADY_USED`` 409 / ``CHALLENGE_EXPIRED`` 422);
    3. the frames judged against the challenge's steps and the selfie (``shared.face.liveness``).
    Returns the selfie's ``FaceAnalysis`` (embedding: personal data, never log it) and the ``LivenessResult``
    (passed or not, per-step reasons): a caller that records a rejection (real-name sessions) uses this.

``LivenessService.verify(user_id, challenge_id, frames, selfie) -> FaceAnalysis``
    ``check`` that raises ``LivenessFailed`` (``LIVENESS_FAILED`` 422, with the reasons) when the frames did
    not follow the challenge. What enrolment and §4's FACE method call.

``frames`` and ``selfie`` are raw image bytes (decode base64 bodies with
``shared.face.encoding.decode_base64_image``, or take ``LivenessProof``/``FaceProof`` from ``schemas``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from shared.clock import utcnow
from shared.face.errors import LivenessFailed
from shared.face.models import Challenge, FaceAnalysis, IssuedChallenge, LivenessResult, LivenessStep
from shared.face.ports import ChallengeStore
from shared.face.settings import FaceSettings

if TYPE_CHECKING:  # the pipeline imports numpy and Pillow: a function that only issues challenges never does
    from shared.face.service import FaceService

Clock = Callable[[], datetime]
_SYSTEM_RANDOM = secrets.SystemRandom()


def new_challenge(n_steps: int, ttl_seconds: int, *, kinds: Sequence[LivenessStep] = tuple(LivenessStep),
                  now: datetime | None = None, rng: secrets.SystemRandom = _SYSTEM_RANDOM) -> Challenge:
    """``n_steps`` movements drawn independently from ``kinds`` with a CSPRNG (len(kinds) ** n_steps equally
    likely sequences: 16 for the default 4 yaw steps), and a 128-bit id."""
    if len(set(kinds)) < 2:
        raise ValueError("a challenge needs at least two kinds of movement")
    choices = list(dict.fromkeys(kinds))
    steps = [rng.choice(choices) for _ in range(n_steps)]
    issued = now or utcnow()
    return Challenge(challenge_id=secrets.token_urlsafe(16), steps=tuple(steps),
                     expires_at=issued + timedelta(seconds=ttl_seconds))




class LivenessOutcome(NamedTuple):
    selfie: FaceAnalysis
    result: LivenessResult
    challenge: IssuedChallenge


class ChallengeService:
    def __init__(self, settings: FaceSettings, store: ChallengeStore, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def issue(self, user_id: str) -> IssuedChallenge:
        now = self.clock()
        challenge = new_challenge(self.settings.liveness_steps, self.settings.liveness_challenge_ttl_seconds,
                                  kinds=self.settings.step_kinds, now=now)
        issued = IssuedChallenge(challenge_id=challenge.challenge_id, user_id=user_id, steps=challenge.steps,
                                 issued_at=now, expires_at=challenge.expires_at)
        self.store.put(issued)
        return issued


class LivenessService:
    def __init__(self, faces: FaceService, store: ChallengeStore, clock: Clock = utcnow) -> None:
        self.faces = faces
        self.store = store
        self.clock = clock

    def check(self, user_id: str, challenge_id: str, frames: Sequence[bytes], selfie: bytes,
              request: str | None = None) -> LivenessOutcome:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``); the same request retried after
        a crash may use the challenge it consumed (any other use finds it used)."""
        analysis = self.faces.analyze_selfie(selfie)  # quality gates first: a bad selfie consumes nothing
        decoded = [self.faces.decode_frame(frame) for frame in frames]
        challenge = self.store.consume(challenge_id, user_id, self.clock(), request)
        result = self.faces.check_liveness(analysis, challenge.steps, decoded)
        return LivenessOutcome(analysis, result, challenge)

    def verify(self, user_id: str, challenge_id: str, frames: Sequence[bytes], selfie: bytes,
               request: str | None = None) -> FaceAnalysis:
        outcome = self.check(user_id, challenge_id, frames, selfie, request)
        if not outcome.result.passed:
            raise LivenessFailed(reasons=outcome.result.reasons)
        return outcome.selfie
