"""Real-name tests: the real face models and package photos (from tests/face), the local API, and helpers that
answer liveness challenges with the local frame generator."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Api, Reply
from tests.face.conftest import analyze, face_models, photos, service  # noqa: F401  (fixtures)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FaceClient:
    """Challenges and liveness answers over the local API, as a client app would get them."""

    def __init__(self, api: Api, images: dict[str, bytes], models: Any = None) -> None:
        self.api = api
        self.photos = images
        self.service = models  # the face models, to check generated frames before sending them (live_proof)

    def challenge(self, token: str) -> dict[str, Any]:
        reply = self.api.call("POST", "/real-name/challenges", token=token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def frames(self, challenge_id: str, photo: str) -> list[str]:
        reply = self.api.call("POST", "/local/real-name/liveness-frames",
                              {"challenge_id": challenge_id, "face_image": b64(self.photos[photo])})
        assert reply.status == 200, reply.body
        return list(reply.body["frames"])

    def proof(self, token: str, photo: str, *, reverse: bool = False) -> dict[str, Any]:
        """``{face_image, liveness: {challenge_id, frames}}`` answering a fresh challenge (``reverse``: the
        frames in the wrong order, i.e. the challenge not followed, unless it is symmetric)."""
        challenge = self.challenge(token)
        frames = self.frames(challenge["challenge_id"], photo)
        if reverse:
            frames = frames[::-1]
        return {"face_image": b64(self.photos[photo]),
                "liveness": {"challenge_id": challenge["challenge_id"], "frames": frames}}


    def live_proof(self, token: str, photo: str, attempts: int = 8) -> dict[str, Any]:
        """A proof the server's liveness check accepts: the local 2D-replay generator cannot reach every random
        step sequence for every photo, so challenges are drawn until its frames pass the same check locally (an
        unanswered challenge only expires; nothing is counted). For tests about what happens after liveness."""
        from shared.face.models import LivenessStep

        selfie = self.service.analyze_selfie(self.photos[photo])
        for _ in range(attempts):
            challenge = self.challenge(token)
            frames = self.frames(challenge["challenge_id"], photo)
            decoded = [self.service.decode_frame(base64.b64decode(f)) for f in frames]
            if self.service.check_liveness(selfie, [LivenessStep(s) for s in challenge["steps"]], decoded).passed:
                return {"face_image": b64(self.photos[photo]),
                        "liveness": {"challenge_id": challenge["challenge_id"], "frames": frames}}
        raise AssertionError(f"the frame generator did not answer {attempts} challenges for {photo}")


@pytest.fixture
def faces(api: Api, photos: dict[str, bytes], service: Any) -> FaceClient:  # noqa: F811  (the imported fixtures)
    return FaceClient(api, photos, service)


ReplyCheck = Callable[[Reply], None]


@pytest.fixture
def authority(clean_stack: Any, photos: dict[str, bytes]) -> Any:  # noqa: F811
    """The embedded identity-photo store seeded with the demo identities (package photos)."""
    from local_stack.realname_demo import seed_authority

    seed_authority(clean_stack.client("dynamodb"), photos,
                   table=clean_stack.template.physical_name("IdentityAuthorityTable"))
    return clean_stack


def register_with_phone(api: Api, sub: str, phone: str | None) -> str:
    """A user with an account recording ``phone`` (the Cognito phone_number claim); returns their token."""
    from local_stack import tokens

    token = tokens.issue(sub, phone_number=phone)
    reply = api.call("POST", "/accounts", {}, token=token, key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body
    return token
