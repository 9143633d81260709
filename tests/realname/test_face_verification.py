"""§4's FACE method on the real face capability: a user who passed real-name authentication with their face has
that live face as their reference (``source: REAL_NAME``), so adaptive verification offers FACE, and a FACE
attempt (a fresh challenge from ``POST /real-name/challenges``, answered by the local frame generator) passes with
the same person's photo (another photo of them) and fails with another person's (1:1 at 0.45)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack.realname_demo import DEMO_PHONE
from tests.conftest import Api, Reply
from tests.realname.conftest import FaceClient, b64, register_with_phone

pytestmark = pytest.mark.usefixtures("authority")
DEVICE = {"X-Device-Id": "face-dev-1", "X-Session-Id": "sess-face-1"}


def trigger(api: Api, token: str, operation: str = "ACCOUNT_UPDATE") -> dict[str, Any]:
    reply = api.call("POST", "/verifications", {"operation": operation, "context": {
        "device_id": DEVICE["X-Device-Id"], "network": "WIFI"}}, token=token, key=str(uuid.uuid4()), headers=DEVICE)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def face_attempt(api: Api, faces: FaceClient, token: str, vid: str, photo: str) -> Reply:
    proof = faces.live_proof(token, photo)
    return api.call("POST", f"/verifications/{vid}/attempts", {"method": "FACE", **proof}, token=token,
                    key=str(uuid.uuid4()))


def test_real_name_face_is_the_reference_for_the_face_method(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, f"vf-{uuid.uuid4().hex[:6]}", DEMO_PHONE)
    assert "FACE" not in trigger(api, token)["methods"]  # no reference face yet
    created = api.call("POST", "/real-name/sessions", {**faces.live_proof(token, "obama"), "context": {
        "device_id": "face-dev-1", "network": "WIFI"}}, token=token, key=str(uuid.uuid4()))
    assert created.status == 201 and created.body["next"] == "CONFIRM_IDENTITY", created.body
    done = api.call("POST", f"/real-name/sessions/{created.body['session_id']}/confirmation", {"confirmed": True},
                    token=token, key=str(uuid.uuid4()))
    assert done.status == 200 and done.body["status"] == "VERIFIED", done.body

    decision = trigger(api, token)
    assert "FACE" in decision["methods"], decision
    # frames that do not follow the challenge (the still photo four times): a failed try, not an error
    challenge = faces.challenge(token)
    still = {"face_image": b64(faces.photos["obama"]), "liveness": {"challenge_id": challenge["challenge_id"],
                                                                    "frames": [b64(faces.photos["obama"])] * 4}}
    replayed = api.call("POST", f"/verifications/{decision['verification_id']}/attempts", {"method": "FACE", **still},
                        token=token, key=str(uuid.uuid4()))
    assert replayed.status == 200 and replayed.body["result"] == "FAILED", replayed.body
    assert replayed.body["tries_left"] == 4
    # another person's face: a processed attempt that fails (a try used), no token
    other = face_attempt(api, faces, token, decision["verification_id"], "macron_2025")
    assert other.status == 200 and other.body["result"] == "FAILED" and other.body["tries_left"] == 3, other.body
    assert other.body.get("token") is None
    # the same person in another photo: passed, with an ACCOUNT_UPDATE token
    same = face_attempt(api, faces, token, decision["verification_id"], "obama2")
    assert same.status == 200 and same.body["result"] == "PASSED" and same.body["token"], same.body
    # the challenge was consumed once: replaying the same liveness answer on a new verification is refused
    again = trigger(api, token)
    proof = faces.live_proof(token, "obama")
    first = api.call("POST", f"/verifications/{again['verification_id']}/attempts", {"method": "FACE", **proof},
                     token=token, key=str(uuid.uuid4()))
    assert first.body["result"] == "PASSED", first.body
    third = trigger(api, token)
    replay = api.call("POST", f"/verifications/{third['verification_id']}/attempts", {"method": "FACE", **proof},
                      token=token, key=str(uuid.uuid4()))
    assert (replay.status, replay.code) == (409, "CHALLENGE_ALREADY_USED"), replay.body


def test_face_is_not_offered_without_a_reference_and_refused_when_asked(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, f"vf-{uuid.uuid4().hex[:6]}", "+8613711112222")
    decision = trigger(api, token)
    assert "FACE" not in decision["methods"]
    proof = faces.proof(token, "obama")
    reply = api.call("POST", f"/verifications/{decision['verification_id']}/attempts", {"method": "FACE", **proof},
                     token=token, key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (422, "METHOD_NOT_OFFERED"), reply.body
