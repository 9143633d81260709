"""A real-name request retried with its Idempotency-Key after a crash past its commit (found by the crash tests,
issue 14: ``tests/reliability/test_crash_realname.py``). The crash is simulated by forgetting the idempotency
record, as when the process died between the commit and the record's completion: the retry re-runs the route.

Before the fix the retry found its own change and was refused: the session / enrolment's challenge already used
(409 ``CHALLENGE_ALREADY_USED``: a crash between consuming it and the write lost the user's liveness proof), the
session no longer awaiting (409 ``SESSION_STATE_CONFLICT``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local_stack import LocalStack
from local_stack.faults import Call, Interceptor, SimulatedCrash, intercept
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


class CrashBeforeSessionPut(Interceptor):
    """The process dies just before the session's put-once: the request's counts (lockout, attempt indexes) are
    written, the session is not (the retry runs the request again)."""

    def __init__(self) -> None:
        super().__init__(functions={"CreateRealNameSessionFunction"})
        self.crashed = False

    def before_call(self, call: Call, params: dict[str, Any]) -> None:
        if call.operation != "PutItem" or not self.watches(call):
            return
        pk = json.loads(params.get("body") or b"{}").get("Item", {}).get("pk", {}).get("S", "")  # the wire request
        if not self.crashed and pk.startswith("SESSION#"):
            self.crashed = True
            raise SimulatedCrash("crash before the session's put")


def _counts(stack: LocalStack, sub: str) -> tuple[int, int]:
    """(the user's consecutive real-name failures, REAL_NAME attempts counted in the IP-prefix index)."""
    ddb = stack.client("dynamodb")
    fails = ddb.get_item(TableName=stack.template.physical_name("RealNameTable"),
                         Key={"pk": {"S": f"FAILS#USER#{sub}"}, "sk": {"S": "FAILS"}}).get("Item", {})
    items = ddb.scan(TableName=stack.template.physical_name("SignalsTable"))["Items"]
    attempts = sum(int(i["n"]["N"]) for i in items
                   if i["pk"]["S"].startswith("PREFIX#") and i["pk"]["S"].endswith("#REAL_NAME"))
    return int(fails.get("failures", {}).get("N", "0")), attempts


def _create_crashed_then_retried(api: Api, stack: LocalStack, token: str, body: dict[str, Any]) -> dict[str, Any]:
    key = str(uuid.uuid4())
    with intercept(CrashBeforeSessionPut()) as crash:
        crashed = api.call("POST", "/real-name/sessions", body, token=token, key=key)
    assert crash.crashed and crashed.status == 502, crashed.body  # type: ignore[attr-defined]
    forget_idempotency(stack)  # the crashed request's in-progress record expired with its Lambda
    again = api.call("POST", "/real-name/sessions", body, token=token, key=key)
    assert again.status == 201, again.body
    return dict(again.body)


def test_a_rejected_liveness_retried_after_a_crash_counts_one_failure_and_one_attempt(
        api: Api, faces: FaceClient, clean_stack: LocalStack) -> None:
    token = register_with_phone(api, "rn-count-once", DEMO_PHONE)
    challenge = faces.challenge(token)
    still = faces.proof(token, "obama")["face_image"]
    body = {"face_image": still, "liveness": {"challenge_id": challenge["challenge_id"],
                                              "frames": [still] * len(challenge["steps"])},
            "context": {"device_id": "dev-count-once"}}
    _, attempts_before = _counts(clean_stack, "rn-count-once")
    session = _create_crashed_then_retried(api, clean_stack, token, body)
    assert session["status"] == "REJECTED", session
    assert _counts(clean_stack, "rn-count-once") == (1, attempts_before + 1)  # before the fix: (2, +2)


def test_a_session_retried_after_a_crash_counts_one_attempt(api: Api, faces: FaceClient,
                                                            clean_stack: LocalStack) -> None:
    token = register_with_phone(api, "rn-attempt-once", DEMO_PHONE)
    body = {**faces.live_proof(token, "obama"), "context": {"device_id": "dev-attempt-once", "network": "WIFI"}}
    _, attempts_before = _counts(clean_stack, "rn-attempt-once")
    session = _create_crashed_then_retried(api, clean_stack, token, body)
    assert session["status"] == "AWAITING_CONFIRMATION", session
    assert _counts(clean_stack, "rn-attempt-once") == (0, attempts_before + 1)  # before the fix: +2


def test_a_failed_step_counts_once_until_a_success(clean_stack: LocalStack) -> None:
    """The lockout's counter keyed by the failed step (``<session>:liveness|confirmation|identity``): the same step
    again (a retried confirmation or typed identity after a crash before its transition) adds nothing; another
    step does; a success clears them; a retry whose first try died before its lock sets the lock."""
    from shared.clock import utcnow
    from shared.realname.repository import DynamoRealNameStore

    store = DynamoRealNameStore(clean_stack.template.physical_name("RealNameTable"), clean_stack.client("dynamodb"))
    now, no_lock = utcnow(), (lambda failures: 0)
    assert store.fail("USER#once", now, no_lock, "rn_1:confirmation").failures == 1
    assert store.fail("USER#once", now, no_lock, "rn_1:confirmation").failures == 1
    assert store.fail("USER#once", now, no_lock, "rn_2:identity").failures == 2
    assert store.fail("USER#once", now, lambda failures: 30, "rn_2:identity").locked_until is not None
    store.succeed("USER#once")
    assert store.fail("USER#once", now, no_lock, "rn_1:confirmation").failures == 1
