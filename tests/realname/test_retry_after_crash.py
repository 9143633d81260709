"""A real-name request retried with its Idempotency-Key after a crash past its commit (found by the crash tests,
issue 14: ``tests/reliability/test_crash_realname.py``). The crash is simulated by forgetting the idempotency
record, as when the process died between the commit and the record's completion: the retry re-runs the route.

Before the fix the retry found its own change and was refused: the session / enrolment's challenge already used
(409 ``CHALLENGE_ALREADY_USED``: a crash between consuming it and the write lost the user's liveness proof), the
session no longer awaiting (409 ``SESSION_STATE_CONFLICT``)."""

from __future__ import annotations

import uuid

import pytest

from local_stack import LocalStack
from local_stack.realname_demo import DEMO_PHONE
from tests.conftest import Api
from tests.realname.conftest import FaceClient, register_with_phone

pytestmark = pytest.mark.usefixtures("authority")


def forget_idempotency(stack: LocalStack) -> None:
    ddb = stack.client("dynamodb")
    table = stack.template.physical_name("IdempotencyTable")
    for item in ddb.scan(TableName=table)["Items"]:
        ddb.delete_item(TableName=table, Key={"id": item["id"]})


def test_session_and_confirmation_retried_after_their_commit_answer_what_they_did(
        api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    token = register_with_phone(api, "rn-retry", DEMO_PHONE)
    body = {**faces.live_proof(token, "obama"), "context": {"device_id": "dev-retry", "network": "WIFI"}}
    key = str(uuid.uuid4())
    first = api.call("POST", "/real-name/sessions", body, token=token, key=key)
    assert first.status == 201 and first.body["status"] == "AWAITING_CONFIRMATION", first.body
    forget_idempotency(clean_stack)
    again = api.call("POST", "/real-name/sessions", body, token=token, key=key)
    assert again.status == 201 and again.body["session_id"] == first.body["session_id"], again.body
    other = api.call("POST", "/real-name/sessions", body, token=token, key=str(uuid.uuid4()))
    assert other.status == 409 and other.code == "CHALLENGE_ALREADY_USED"  # still single use for another request

    sid, key = first.body["session_id"], str(uuid.uuid4())
    path = f"/real-name/sessions/{sid}/confirmation"
    done = api.call("POST", path, {"confirmed": True}, token=token, key=key)
    assert done.status == 200 and done.body["status"] == "VERIFIED", done.body
    forget_idempotency(clean_stack)
    replay = api.call("POST", path, {"confirmed": True}, token=token, key=key)
    assert replay.status == 200 and replay.body["status"] == "VERIFIED", replay.body
    late = api.call("POST", path, {"confirmed": True}, token=token, key=str(uuid.uuid4()))
    assert late.status == 409 and late.code == "SESSION_STATE_CONFLICT"
    records = clean_stack.client("dynamodb").scan(TableName=clean_stack.template.physical_name("RealNameTable"))
    assert sum(1 for i in records["Items"] if i["pk"]["S"].startswith("REALNAME#")) == 1


def test_enrolment_retried_after_its_challenge_was_used_finishes(api: Api, faces: FaceClient,
                                                                 clean_stack: LocalStack) -> None:
    token = api.token("enrol-retry")
    body = faces.live_proof(token, "obama")
    key = str(uuid.uuid4())
    # the crash: the challenge consumed by this request, the enrolment never written
    from shared.api.idempotency import request_tag
    from shared.clock import utcnow
    from shared.face.repository import DynamoFaceStore

    store = DynamoFaceStore(clean_stack.template.physical_name("FaceTable"), clean_stack.client("dynamodb"))
    store.consume(body["liveness"]["challenge_id"], "enrol-retry", utcnow(), request_tag("enrol-retry", key))
    retried = api.call("PUT", "/me/face", body, token=token, key=key)
    assert retried.status == 200 and retried.body["enrolled"] is True, retried.body
    another = api.call("PUT", "/me/face", body, token=token, key=str(uuid.uuid4()))
    assert another.status == 409 and another.code == "CHALLENGE_ALREADY_USED"
