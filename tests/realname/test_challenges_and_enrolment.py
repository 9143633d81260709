"""Liveness challenges (POST /real-name/challenges), face enrolment (PUT /me/face) and the local frame generator,
over the local API against the emulator: single use, bound to the caller, expiry in the write, encrypted
reference, no image kept, 4xx for bad input with nothing changed."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from local_stack import LocalStack
from shared.clock import utcnow
from shared.face.models import IssuedChallenge, LivenessStep
from shared.face.repository import DynamoFaceStore
from tests.conftest import Api
from tests.realname.conftest import FaceClient, b64


def _face_items(stack: LocalStack) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    return ddb.scan(TableName=stack.template.physical_name("FaceTable"))["Items"]


def _enrol(api: Api, token: str, body: dict[str, Any]) -> Any:
    return api.call("PUT", "/me/face", body, token=token, key=str(uuid.uuid4()))


def test_challenge_is_random_bound_and_needs_an_idempotency_key(api: Api, faces: FaceClient) -> None:
    token = api.token("chal-user")
    assert api.call("POST", "/real-name/challenges", token=token).code == "IDEMPOTENCY_KEY_REQUIRED"
    assert api.call("POST", "/real-name/challenges", key="k1").status == 401
    first, second = faces.challenge(token), faces.challenge(token)
    assert first["challenge_id"] != second["challenge_id"]
    assert len(first["steps"]) == 4 and set(first["steps"]) <= {s.value for s in LivenessStep}
    replay = api.call("POST", "/real-name/challenges", token=token, key="same-key")
    again = api.call("POST", "/real-name/challenges", token=token, key="same-key")
    assert again.body == replay.body and again.headers.get("Idempotent-Replayed") == "true"


def test_enrol_with_generated_frames_stores_only_an_encrypted_embedding(
        api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    token = api.token("enrol-user")
    body = faces.proof(token, "obama")
    reply = _enrol(api, token, body)
    assert reply.status == 200, reply.body
    assert reply.body["enrolled"] is True and reply.body["model_version"]
    enrolment = [i for i in _face_items(clean_stack) if i["pk"]["S"] == "ENROLMENT#enrol-user"]
    assert len(enrolment) == 1
    stored = str(enrolment[0])
    assert enrolment[0]["sealed"]["S"].startswith("v1.")
    assert body["face_image"][:200] not in stored and "embedding" not in stored  # no image, no clear vector
    # the challenge is single use
    again = _enrol(api, token, body)
    assert again.status == 409 and again.code == "CHALLENGE_ALREADY_USED"


def test_another_users_challenge_is_not_found_and_not_consumed(api: Api, faces: FaceClient) -> None:
    owner, thief = api.token("chal-owner"), api.token("chal-thief")
    body = faces.proof(owner, "obama")
    stolen = _enrol(api, thief, body)
    assert stolen.status == 404 and stolen.code == "CHALLENGE_NOT_FOUND"
    assert _enrol(api, owner, body).status == 200  # still usable by its owner


def test_expired_challenge_is_refused_by_the_write(api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    token = api.token("late-user")
    store = DynamoFaceStore(clean_stack.template.physical_name("FaceTable"), clean_stack.client("dynamodb"))
    issued = utcnow() - timedelta(minutes=5)
    store.put(IssuedChallenge(challenge_id="expiredchallenge0001", user_id="late-user",
                              steps=(LivenessStep.TURN_LEFT, LivenessStep.TURN_RIGHT), issued_at=issued,
                              expires_at=issued + timedelta(seconds=120)))
    frames = faces.frames("expiredchallenge0001", "obama")
    reply = _enrol(api, token, {"face_image": b64(faces.photos["obama"]),
                                "liveness": {"challenge_id": "expiredchallenge0001", "frames": frames}})
    assert reply.status == 422 and reply.code == "CHALLENGE_EXPIRED"


def test_liveness_not_followed_is_refused(api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    token = api.token("lazy-user")
    challenge = faces.challenge(token)
    frames = faces.frames(challenge["challenge_id"], "obama")
    still = b64(faces.photos["obama"])
    reply = _enrol(api, token, {"face_image": still,
                                "liveness": {"challenge_id": challenge["challenge_id"],
                                             "frames": [still] * len(frames)}})
    assert reply.status == 422 and reply.code == "LIVENESS_FAILED"
    assert any("POSE_NOT_REACHED" in r for r in reply.body["error"]["details"]["reasons"])
    assert not [i for i in _face_items(clean_stack) if i["pk"]["S"].startswith("ENROLMENT#")]


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(("selfie", "status", "code"), [
    (b"not an image at all", 400, "NOT_AN_IMAGE"),
    ("blank", 422, "NO_FACE"),
    ("group", 422, "MULTIPLE_FACES"),
    ("tiny", 422, "FACE_TOO_SMALL"),
])
def test_unusable_selfies_are_4xx_and_consume_nothing(api: Api, faces: FaceClient, selfie: Any, status: int,
                                                      code: str) -> None:
    token = api.token("bad-selfie-user")
    body = faces.proof(token, "obama")
    if selfie == "blank":
        data = _jpeg(Image.new("RGB", (640, 480), "white"))
    elif selfie == "group":
        data = faces.photos["group"]
    elif selfie == "tiny":
        data = _jpeg(Image.open(io.BytesIO(faces.photos["obama"])).convert("RGB").resize((90, 60)))
    else:
        data = selfie
    reply = _enrol(api, token, {**body, "face_image": b64(data)})
    assert reply.status == status and reply.code == code, reply.body
    assert _enrol(api, token, body).status == 200  # the challenge was not consumed


def test_bad_input_is_4xx(api: Api, faces: FaceClient) -> None:
    token = api.token("bad-input-user")
    body = faces.proof(token, "obama")
    assert _enrol(api, token, {**body, "face_image": "@@not base64@@"}).code == "NOT_AN_IMAGE"
    too_many = {**body, "liveness": {**body["liveness"], "frames": body["liveness"]["frames"] * 2}}
    assert _enrol(api, token, too_many).status == 422
    huge = {**body, "face_image": base64.b64encode(b"\xff" * 3_000_000).decode()}
    assert _enrol(api, token, huge).code == "IMAGE_TOO_LARGE"
    big_frame = {**body, "liveness": {**body["liveness"], "frames": ["QUFB" * 300_000]}}
    assert _enrol(api, token, big_frame).code == "IMAGE_TOO_LARGE"
    assert _enrol(api, token, {**body, "liveness": {"challenge_id": "x\u202e" * 10, "frames": ["QUFB"]}}).status \
        == 422
    assert _enrol(api, token, {**body, "extra": 1}).status == 422
    assert _enrol(api, token, body).status == 200


def test_local_frame_generator_bad_input(api: Api) -> None:
    assert api.call("POST", "/local/real-name/liveness-frames", {"challenge_id": 3}).status == 422
    reply = api.call("POST", "/local/real-name/liveness-frames", {"challenge_id": "nope", "face_image": "QUFB"})
    assert reply.status == 404 and reply.code == "CHALLENGE_NOT_FOUND"
