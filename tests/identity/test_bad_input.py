"""Bad input gets a 4xx with a machine-readable code and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import new_key
from tests.identity.conftest import CLAIM, JPEG, WORKER, Identity

FOREIGN = "iv_" + "0" * 32


def _executions(identity: Identity) -> int:
    sfn = identity.stack.client("stepfunctions")
    arn = identity.stack.state_machine_arn("IdentityVerificationStateMachine")
    return len(sfn.list_executions(stateMachineArn=arn)["executions"])


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"identity_type": "astronaut", "claimed": CLAIM}, 422, "UNKNOWN_IDENTITY_TYPE"),
    ({"identity_type": "student", "claimed": {"name": "Li Hua"}}, 422, "INVALID_CLAIM"),
    ({"identity_type": "student", "claimed": {**CLAIM, "student_number": "x"}}, 422, "INVALID_CLAIM"),
    ({"identity_type": "student", "claimed": {**CLAIM, "student_number": 12345678}}, 422, "INVALID_CLAIM"),
    ({"identity_type": "student", "claimed": {**CLAIM, "extra": "1"}}, 422, "INVALID_CLAIM"),
    ({"identity_type": "student"}, 422, "VALIDATION_ERROR"),
    ({"identity_type": "student", "claimed": CLAIM, "user_id": "someone-else"}, 422, "VALIDATION_ERROR"),
])
def test_bad_start_requests_are_refused_and_start_nothing(identity: Identity, body: dict, status: int,
                                                          code: str) -> None:
    who = identity.person()
    before = _executions(identity)
    reply = identity.api.call("POST", "/identity-verifications", body, token=who.token, key=new_key())
    assert (reply.status, reply.code) == (status, code), reply.body
    assert _executions(identity) == before
    assert identity.store.latest_verification_id(who.sub, "student") is None


def test_bad_json_and_no_token(identity: Identity) -> None:
    who = identity.person()
    assert identity.api.call("POST", "/identity-verifications", raw=b"{nope", token=who.token,
                             key=new_key()).code == "INVALID_JSON"
    assert identity.api.call("POST", "/identity-verifications", {"identity_type": "student", "claimed": CLAIM}
                             ).status == 401


def test_someone_elses_verification_is_not_found_and_untouched(identity: Identity) -> None:
    owner, intruder = identity.person(WORKER), identity.person()
    vid = identity.start(owner).body["verification_id"]
    identity.wait_status(owner, vid, "AWAITING_DOCUMENT")
    for reply in (
        identity.get(intruder, vid),
        identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                          {"content_type": "image/jpeg", "credential_number": "PKU2024001"}, token=intruder.token),
        identity.submit(intruder, vid),
        identity.get(owner, FOREIGN),
    ):
        assert (reply.status, reply.code) == (404, "VERIFICATION_NOT_FOUND"), reply.body
    assert identity.get(owner, "not-an-id").status == 422
    body = identity.get(owner, vid).body
    assert body["status"] == "AWAITING_DOCUMENT" and body["document"] is None


def test_wrong_document_type_is_refused_before_upload(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    reply = identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                              {"content_type": "text/html", "credential_number": "PKU2024001"}, token=who.token)
    assert (reply.status, reply.code) == (422, "UNSUPPORTED_DOCUMENT_TYPE")
    reply = identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                              {"content_type": "image/png", "credential_number": "$$"}, token=who.token)
    assert (reply.status, reply.code) == (422, "INVALID_CREDENTIAL_NUMBER")
    assert identity.get(who, vid).body["document"] is None


def test_upload_form_enforces_content_type_and_size(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    ticket = identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                               {"content_type": "image/jpeg", "credential_number": "PKU2024001"}, token=who.token)
    assert ticket.status == 201
    policy_fields = ticket.body["fields"]
    assert policy_fields["Content-Type"] == "image/jpeg" and "policy" in policy_fields
    assert ticket.body["max_bytes"] == 5 * 1024 * 1024


def test_upload_outside_the_presigned_policy_is_refused_at_upload_time(identity: Identity) -> None:
    # Issue 9 item 16: the policy allows 1 byte .. 5 MB of image/jpeg under one key, nothing else
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    ticket = identity.ticket(who, vid)
    key = ticket.body["fields"]["key"]
    html = b"<html>" + b"x" * (20 * 1024 * 1024)
    refusals = [
        (identity.post_form(ticket, html, key=f"{key}-other", **{"Content-Type": "text/html"}), 403, "AccessDenied"),
        (identity.post_form(ticket, JPEG, key=f"{key}-other"), 403, "AccessDenied"),
        (identity.post_form(ticket, JPEG, **{"Content-Type": "text/html"}), 403, "AccessDenied"),
        (identity.post_form(ticket, JPEG + b"\x00" * (5 * 1024 * 1024)), 400, "EntityTooLarge"),
        (identity.post_form(ticket, b""), 400, "EntityTooSmall"),
        (identity.post_form(ticket, JPEG, **{"x-amz-meta-owner": "mallory"}), 403, "AccessDenied"),
    ]
    for resp, status, code in refusals:
        assert resp.status_code == status, resp.text
        assert f"<Code>{code}</Code>" in resp.text
    # Nothing was stored, under either key; then the form as issued works
    nothing = identity.submit(who, vid)
    assert (nothing.status, nothing.code) == (409, "DOCUMENT_NOT_UPLOADED")
    s3, bucket = identity.stack.client("s3"), ticket.body["upload_url"].rstrip("/").rsplit("/", 1)[-1]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=key)
    assert identity.post_form(ticket, JPEG).status_code in (200, 201, 204)
    assert identity.submit(who, vid).status == 202


def test_oversized_or_mistyped_upload_is_refused_at_submit_and_changes_nothing(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    nothing = identity.submit(who, vid)
    assert (nothing.status, nothing.code) == (409, "DOCUMENT_NOT_UPLOADED")

    # The upload form refuses these (below); our own checks on submission still catch an object that got in
    # another way.
    identity.put_directly(who, vid, JPEG + b"\x00" * (5 * 1024 * 1024), "image/jpeg")
    big = identity.submit(who, vid)
    assert (big.status, big.code) == (422, "DOCUMENT_TOO_LARGE"), big.body
    assert identity.get(who, vid).body["status"] == "AWAITING_DOCUMENT"

    identity.put_directly(who, vid, JPEG, "text/html")
    wrong = identity.submit(who, vid)
    assert (wrong.status, wrong.code) == (422, "DOCUMENT_TYPE_MISMATCH"), wrong.body
    body = identity.get(who, vid).body
    assert body["status"] == "AWAITING_DOCUMENT" and body["document"]["submitted"] is False

    identity.upload(who, vid)  # a correct upload still goes through
    assert identity.submit(who, vid).status == 202
    identity.wait_status(who, vid, "IN_REVIEW")


def test_review_queue_and_decisions_are_for_reviewers_only(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    identity.upload(who, vid)
    identity.submit(who, vid)
    identity.wait_status(who, vid, "IN_REVIEW")
    review_id = identity.review_for(vid)["review_id"]

    assert (identity.reviews(who).status, identity.reviews(who).code) == (403, "FORBIDDEN")
    for reply in (identity.decide(review_id, "APPROVE", who=who),
                  identity.decide(review_id, "APPROVE",
                                  who=type(who)("admin-1", identity.api.token("admin-1", "admin")))):
        assert (reply.status, reply.code) == (403, "FORBIDDEN"), reply.body
    own = type(who)(who.sub, identity.api.token(who.sub, "reviewer"))
    assert identity.decide(review_id, "APPROVE", who=own).code == "SELF_REVIEW"
    assert identity.decide(review_id, "MAYBE").status == 422
    assert identity.decide("rv_" + "0" * 32, "APPROVE").code == "REVIEW_NOT_FOUND"
    assert identity.api.call("GET", "/reviews?status=CLOSED", token=identity.reviewer.token).status == 422
    assert identity.api.call("GET", "/reviews?next_token=garbage", token=identity.reviewer.token).status == 400
    assert identity.get(who, vid).body["status"] == "IN_REVIEW"  # nothing changed

    assert identity.decide(review_id, "REJECT").status == 200
    again = identity.decide(review_id, "APPROVE")
    assert (again.status, again.code) == (409, "REVIEW_CLOSED")
    assert identity.wait_status(who, vid, "REJECTED")["status"] == "REJECTED"


@pytest.mark.parametrize(("valid_until", "code"), [
    ("not-a-date", "VALIDATION_ERROR"),
    ("2028-02-30", "VALIDATION_ERROR"),
    ("1999-12-31", "VALIDATION_ERROR"),
    ("2100-01-01", "VALIDATION_ERROR"),
    (20280701, "VALIDATION_ERROR"),
    ("2021-06-30", "CREDENTIAL_EXPIRED"),
])
def test_a_bad_or_past_credential_expiry_is_refused_and_changes_nothing(identity: Identity, valid_until: object,
                                                                       code: str) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    reply = identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                              {"content_type": "image/jpeg", "credential_number": "PKU2024001",
                               "valid_until": valid_until}, token=who.token)
    assert (reply.status, reply.code) == (422, code), reply.body
    assert identity.get(who, vid).body["document"] is None
