"""Real-name sessions over the local API (real models, liveness frames from the local generator, the embedded
authority seeded from package photos): every branch of the flow the emulator can drive. Risk items that come
from the signals profile are covered on fakes in test_sessions_unit.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local_stack import LocalStack
from local_stack.realname_demo import DEMO_IDENTITIES, DEMO_PHONE, OTHER_PHONE
from tests.conftest import Api, Reply
from tests.realname.conftest import FaceClient, register_with_phone

pytestmark = pytest.mark.usefixtures("authority")
ZHAO_LEI, ZHAO_JUN = DEMO_IDENTITIES[0], DEMO_IDENTITIES[1]


def start(api: Api, faces: FaceClient, token: str, photo: str, *, device: str = "dev-1",
          reverse: bool = False) -> Reply:
    body = {**faces.proof(token, photo, reverse=reverse), "context": {"device_id": device, "network": "WIFI"}}
    return api.call("POST", "/real-name/sessions", body, token=token, key=str(uuid.uuid4()))


def confirm(api: Api, token: str, session_id: str, confirmed: bool) -> Reply:
    return api.call("POST", f"/real-name/sessions/{session_id}/confirmation", {"confirmed": confirmed},
                    token=token, key=str(uuid.uuid4()))


def identity(api: Api, token: str, session_id: str, **body: Any) -> Reply:
    return api.call("POST", f"/real-name/sessions/{session_id}/identity", body, token=token, key=str(uuid.uuid4()))


def test_proposed_identity_confirmed_is_verified_and_masked(api: Api, faces: FaceClient,
                                                            clean_stack: LocalStack) -> None:
    token = register_with_phone(api, "rn-happy", DEMO_PHONE)
    created = start(api, faces, token, "obama")
    assert created.status == 201, created.body
    body = created.body
    assert body["status"] == "AWAITING_CONFIRMATION" and body["next"] == "CONFIRM_IDENTITY"
    assert body["proposed_identity"] == {"masked_name": "Z*******", "masked_id_number": "1****************3"}
    assert body["policy_version"] == "2026-11-29.2" and "POLICY_ANY_RISK_FAILS_PASS" in body["reasons"]
    raw = json.dumps(body)
    assert ZHAO_LEI.name not in raw and ZHAO_LEI.id_number not in raw
    done = confirm(api, token, body["session_id"], True)
    assert done.status == 200 and done.body["status"] == "VERIFIED" and done.body["next"] is None
    assert done.body["verified_identity"]["masked_name"] == "Z*******"
    got = api.call("GET", f"/real-name/sessions/{body['session_id']}", token=token)
    assert got.body["status"] == "VERIFIED"
    # stored: hashes and sealed values, never the clear name, ID number or embedding
    items = clean_stack.client("dynamodb").scan(TableName="RealNameTable")["Items"]
    dump = json.dumps(items)
    assert ZHAO_LEI.id_number not in dump and "Zhao Lei" not in dump
    # confirming twice: the session is final
    assert confirm(api, token, body["session_id"], True).code == "SESSION_STATE_CONFLICT"
    # another attempt once verified
    assert start(api, faces, token, "obama").code == "ALREADY_REAL_NAME_VERIFIED"


def test_denied_then_typed_identity_verifies_or_fails(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, "rn-deny", DEMO_PHONE)
    session = start(api, faces, token, "obama").body
    denied = confirm(api, token, session["session_id"], False)
    assert denied.body["status"] == "AWAITING_IDENTITY" and denied.body["next"] == "ENTER_IDENTITY"
    assert denied.body["required_fields"] == ["ID_NUMBER"] and "USER_DENIED_PROPOSAL" in denied.body["reasons"]
    # a checksum-invalid ID number is a 422 and changes nothing
    bad = identity(api, token, session["session_id"], id_number=ZHAO_LEI.id_number[:-1] + "9")
    assert bad.status == 422
    # someone else's identity (a real record, another face): FAILED
    wrong = identity(api, token, session["session_id"], id_number=ZHAO_JUN.id_number)
    assert wrong.status == 200 and wrong.body["status"] == "FAILED"
    assert "TYPED_IDENTITY_FACE_MISMATCH" in wrong.body["reasons"]
    # a new session, typed correctly: VERIFIED
    session2 = start(api, faces, token, "obama").body
    confirm(api, token, session2["session_id"], False)
    ok = identity(api, token, session2["session_id"], id_number=ZHAO_LEI.id_number.lower())
    assert ok.body["status"] == "VERIFIED", ok.body


def test_no_candidate_asks_for_the_typed_identity(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, "rn-nophone", None)
    body = start(api, faces, token, "obama").body
    assert body["status"] == "AWAITING_IDENTITY" and body["required_fields"] == ["ID_NUMBER"]
    assert "NO_CONFIDENT_MATCH" in body["reasons"]
    other = register_with_phone(api, "rn-otherphone", OTHER_PHONE)  # candidates exist, none is this face
    assert "NO_CONFIDENT_MATCH" in start(api, faces, other, "obama").body["reasons"]


def test_liveness_not_followed_is_rejected_and_counted(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, "rn-still", DEMO_PHONE)
    challenge = faces.challenge(token)
    still = faces.proof(token, "obama")["face_image"]
    reply = api.call("POST", "/real-name/sessions",
                     {"face_image": still, "liveness": {"challenge_id": challenge["challenge_id"],
                                                        "frames": [still] * len(challenge["steps"])},
                      "context": {"device_id": "dev-still"}}, token=token, key=str(uuid.uuid4()))
    assert reply.status == 201 and reply.body["status"] == "REJECTED" and reply.body["next"] == "REJECTED"
    assert "LIVENESS_FAILED" in reply.body["reasons"]


def test_batch_face_across_accounts_is_risk(api: Api, faces: FaceClient) -> None:
    tokens = [register_with_phone(api, f"rn-batch-{i}", None) for i in range(3)]
    first = start(api, faces, tokens[0], "obama", device="d0").body
    second = start(api, faces, tokens[1], "obama", device="d1").body
    third = start(api, faces, tokens[2], "obama", device="d2").body
    assert not any(r.startswith("RISK_BATCH_FACE") for r in first["reasons"] + second["reasons"])
    assert "RISK_BATCH_FACE_SAME_FACE_OTHER_ACCOUNTS" in third["reasons"]
    assert third["status"] == "AWAITING_IDENTITY" and third["required_fields"] == ["NAME", "ID_NUMBER"]
    # the typed identity then needs the name too
    missing = identity(api, tokens[2], third["session_id"], id_number=ZHAO_LEI.id_number)
    assert missing.status == 422 and missing.code == "IDENTITY_FIELD_REQUIRED"


def test_one_identity_cannot_be_verified_onto_two_accounts(api: Api, faces: FaceClient) -> None:
    first = register_with_phone(api, "rn-first", DEMO_PHONE)
    s1 = start(api, faces, first, "obama").body
    assert confirm(api, first, s1["session_id"], True).body["status"] == "VERIFIED"
    second = register_with_phone(api, "rn-second", None)
    s2 = start(api, faces, second, "obama2", device="d9").body
    result = identity(api, second, s2["session_id"], id_number=ZHAO_LEI.id_number)
    assert result.body["status"] == "FAILED" and "IDENTITY_VERIFIED_ON_ANOTHER_ACCOUNT" in result.body["reasons"]


def test_attempts_exhausted_lock_with_retry_after(api: Api, faces: FaceClient) -> None:
    token = register_with_phone(api, "rn-locked", DEMO_PHONE)
    # answered in advance: generating frames can take longer than the 30 s lock on a loaded machine
    ready = {**faces.proof(token, "obama"), "context": {"device_id": "dev-other"}}
    still = faces.proof(token, "obama")["face_image"]
    for _ in range(5):
        challenge = faces.challenge(token)
        reply = api.call("POST", "/real-name/sessions",
                         {"face_image": still, "liveness": {"challenge_id": challenge["challenge_id"],
                                                            "frames": [still] * len(challenge["steps"])},
                          "context": {"device_id": "dev-lock"}}, token=token, key=str(uuid.uuid4()))
        assert reply.body["status"] == "REJECTED"
    locked = api.call("POST", "/real-name/sessions", ready, token=token, key=str(uuid.uuid4()))
    assert locked.status == 429 and locked.code == "TOO_MANY_ATTEMPTS"
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    # the device is locked too, for another user
    other = register_with_phone(api, "rn-same-device", None)
    body = {**ready, "context": {"device_id": "dev-lock"}}
    assert api.call("POST", "/real-name/sessions", body, token=other, key=str(uuid.uuid4())).status == 429


def test_another_users_session_is_404_and_bad_input_is_4xx(api: Api, faces: FaceClient) -> None:
    owner = register_with_phone(api, "rn-owner", DEMO_PHONE)
    session = start(api, faces, owner, "obama").body
    intruder = register_with_phone(api, "rn-intruder", None)
    assert api.call("GET", f"/real-name/sessions/{session['session_id']}", token=intruder).status == 404
    assert confirm(api, intruder, session["session_id"], True).status == 404
    assert api.call("GET", "/real-name/sessions/rn_deadbeef", token=owner).status == 404
    assert api.call("GET", "/real-name/sessions/not-a-session", token=owner).status == 422
    assert api.call("POST", f"/real-name/sessions/{session['session_id']}/confirmation", {"confirmed": "yes"},
                    token=owner, key="k-bad").status == 422
    assert api.call("POST", f"/real-name/sessions/{session['session_id']}/confirmation", {"confirmed": True},
                    token=owner).code == "IDEMPOTENCY_KEY_REQUIRED"
    assert identity(api, owner, session["session_id"], id_number="110101197808040013",
                    name="Zhao\u202eLei").status == 422
    assert identity(api, owner, session["session_id"], id_number="110101197808040013",
                    name="x" * 81).status == 422
    bad_ctx = {**faces.proof(owner, "obama"), "context": {"device_id": "dev\x00"}}
    assert api.call("POST", "/real-name/sessions", bad_ctx, token=owner, key=str(uuid.uuid4())).status == 422
    assert confirm(api, owner, session["session_id"], True).body["status"] == "VERIFIED"  # nothing changed


def test_session_expires(api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    from datetime import timedelta

    from shared.clock import utcnow
    from shared.realname.repository import DynamoRealNameStore

    token = register_with_phone(api, "rn-expiry", DEMO_PHONE)
    session = start(api, faces, token, "obama").body
    ddb = clean_stack.client("dynamodb")
    store = DynamoRealNameStore("RealNameTable", ddb)
    stored, _sealed = store.get(session["session_id"])  # type: ignore[misc]
    past = utcnow() - timedelta(seconds=1)
    ddb.update_item(TableName="RealNameTable", Key=store._session_key(session["session_id"]),
                    UpdateExpression="SET expires_at = :past, doc = :doc",
                    ExpressionAttributeValues={":past": {"S": past.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
                                               ":doc": {"S": stored.model_copy(update={"expires_at": past})
                                                        .model_dump_json()}})
    assert api.call("GET", f"/real-name/sessions/{session['session_id']}", token=token).body["status"] == "EXPIRED"
    late = confirm(api, token, session["session_id"], True)
    assert late.status == 409 and late.code == "SESSION_EXPIRED"


def test_no_personal_data_in_logs(api: Api, faces: FaceClient, capsys: pytest.CaptureFixture[str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    token = register_with_phone(api, "rn-logs", DEMO_PHONE)
    session = start(api, faces, token, "obama").body
    confirm(api, token, session["session_id"], False)
    identity(api, token, session["session_id"], id_number=ZHAO_LEI.id_number, name=ZHAO_LEI.name)
    out = capsys.readouterr()
    logs = out.out + out.err + caplog.text
    assert logs  # the handlers did log (requests, metrics)
    for secret in (ZHAO_LEI.id_number, ZHAO_LEI.name, DEMO_PHONE, faces.proof.__self__.photos and "embedding"):
        assert secret not in logs
