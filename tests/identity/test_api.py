"""API behaviour beyond the workflow paths: idempotent start, review-queue pagination."""

from __future__ import annotations

from shared.identity.catalog import identity_type
from tests.identity.conftest import CLAIM, WORKER, Identity


def _executions(identity: Identity) -> int:
    sfn = identity.stack.client("stepfunctions")
    arn = identity.stack.state_machine_arn("IdentityVerificationStateMachine")
    return len(sfn.list_executions(stateMachineArn=arn)["executions"])


def test_start_replayed_with_the_same_idempotency_key_starts_one_workflow(identity: Identity) -> None:
    who = identity.person(WORKER)
    body = {"identity_type": "student", "claimed": CLAIM}
    first = identity.api.call("POST", "/identity-verifications", body, token=who.token, key="k-1")
    again = identity.api.call("POST", "/identity-verifications", body, token=who.token, key="k-1")
    assert first.status == again.status == 202
    assert first.body["verification_id"] == again.body["verification_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _executions(identity) == 1
    other = identity.api.call("POST", "/identity-verifications", {**body, "identity_type": "teacher"},
                              token=who.token, key="k-1")
    assert (other.status, other.code) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_review_queue_pages_oldest_first(identity: Identity) -> None:
    ids = []
    for _ in range(3):
        who = identity.person(WORKER)
        vid = identity.start(who).body["verification_id"]
        identity.wait_status(who, vid, "AWAITING_DOCUMENT")
        identity.upload(who, vid)
        assert identity.submit(who, vid).status == 202
        identity.wait_status(who, vid, "IN_REVIEW")
        ids.append(vid)
    token = identity.reviewer.token
    page1 = identity.api.call("GET", "/reviews?status=OPEN&limit=2", token=token)
    assert page1.status == 200 and len(page1.body["items"]) == 2 and page1.body["next_token"]
    page2 = identity.api.call("GET", f"/reviews?status=OPEN&limit=2&next_token={page1.body['next_token']}",
                              token=token)
    assert page2.status == 200
    seen = [i["verification_id"] for i in page1.body["items"] + page2.body["items"]]
    assert seen == ids
    item = page1.body["items"][0]
    assert item["credential_number"] == "PKU2024001" and item["document_content_type"] == "image/jpeg"
    assert item["score"] is not None and item["threshold"] == identity_type("student").threshold
    assert item["path"] == ["model", "document", "review"]
