"""Every path of the verification workflow, executing the real ASL on the local stack, driven through the API."""

from __future__ import annotations

import json
import time
from collections import Counter

from shared.identity.adapters import S3DocumentStore, StepFunctionsWorkflow
from shared.identity.catalog import identity_type
from shared.identity.service import VerificationService
from shared.identity.settings import IdentitySettings
from tests.identity.conftest import CLAIM, WORKER, Identity, Person


def _document_path_to_review(identity: Identity, who: Person, verification_id: str) -> dict:
    identity.wait_status(who, verification_id, "AWAITING_DOCUMENT")
    identity.upload(who, verification_id)
    reply = identity.submit(who, verification_id)
    assert reply.status == 202, reply.body
    identity.wait_status(who, verification_id, "IN_REVIEW")
    return identity.review_for(verification_id)


def test_high_score_and_registry_match_verifies_with_the_registry_validity(identity: Identity) -> None:
    who = identity.person()
    reply = identity.start(who)
    assert reply.status == 202 and reply.body["status"] == "PENDING"
    vid = reply.body["verification_id"]

    body = identity.wait_status(who, vid, "VERIFIED")
    assert body["path"] == ["model", "registry"]
    assert body["reasons"] == ["SCORE_ABOVE_THRESHOLD", "REGISTRY_RECORD_IS_ACCOUNT_HOLDER", "REGISTRY_MATCH"]
    assert body["score"] > body["threshold"] == identity_type("student").threshold
    assert body["model_version"].startswith("student-gbt-")
    assert body["valid_until"] == "2028-07-01"
    assert body["claimed"]["student_number"].endswith("001") and "PKU" not in body["claimed"]["student_number"]
    [tag] = identity.identities(who)
    assert tag["identity_type"] == "student" and tag["valid"] is True and tag["valid_until"] == "2028-07-01"
    assert identity.execution(vid)["status"] == "SUCCEEDED"


def test_a_real_name_user_claiming_someone_elses_registry_record_is_refused(identity: Identity) -> None:
    """§3 verifies the user, not what they typed: the claim matches Li Hua's registry record, but the caller
    is real-name verified as someone else (or not at all): the document-and-review path, never a pass."""
    from local_stack.realname_demo import DEMO_IDENTITIES

    for real_name, reason in ((DEMO_IDENTITIES[0], "REGISTRY_RECORD_NOT_ACCOUNT_HOLDER"), (None, "REALNAME_REQUIRED")):
        who = identity.person(real_name=real_name)
        vid = identity.start(who).body["verification_id"]
        body = identity.wait_status(who, vid, "AWAITING_DOCUMENT")
        assert body["path"] == ["model", "registry", "document"] and reason in body["reasons"]
        assert "REGISTRY_MATCH" not in body["reasons"]


def test_high_score_registry_mismatch_then_document_and_approval(identity: Identity) -> None:
    who = identity.person()
    vid = identity.start(who, {**CLAIM, "name": "Li Hui"}).body["verification_id"]
    review = _document_path_to_review(identity, who, vid)
    # The automated checks asked the registry again: its record of the number is in another name.
    assert review["checks"] == ["REGISTRY_NAME_MISMATCH", "DOCUMENT_CHECKS_PASSED_WITH_FINDINGS"]
    assert [(f["code"], f["related_verification_ids"]) for f in review["findings"]] == [
        ("REGISTRY_NAME_MISMATCH", [])]
    assert review["claimed"]["name"] == "Li Hui" and review["document_url"]
    assert review["model_version"].startswith("student-gbt-")

    reply = identity.decide(review["review_id"], "APPROVE")
    assert reply.status == 200, reply.body
    body = identity.wait_status(who, vid, "VERIFIED")
    assert body["path"] == ["model", "registry", "document", "review"]
    assert "REGISTRY_MISMATCH_NAME" in body["reasons"] and body["reasons"][-1] == "REVIEW_APPROVED"
    [tag] = identity.identities(who)
    assert tag["valid"] is True and tag["path"] == ["model", "registry", "document", "review"]
    assert identity.reviews().body["items"] == []  # the queue is empty again


def test_low_score_goes_to_documents_and_a_rejection_gives_no_tag(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    review = _document_path_to_review(identity, who, vid)
    assert identity.decide(review["review_id"], "REJECT", reason="photo unreadable").status == 200
    body = identity.wait_status(who, vid, "REJECTED")
    assert body["path"] == ["model", "document", "review"]
    assert body["score"] < body["threshold"]
    assert body["reasons"][0] == "SCORE_AT_OR_BELOW_THRESHOLD"
    assert body["reasons"].count("SCORE_AT_OR_BELOW_THRESHOLD") == 1  # the document wait does not record it again
    assert len(body["reasons"]) == len(set(body["reasons"])), body["reasons"]  # each reason once
    assert body["reasons"][-2:] == ["REVIEW_REJECTED", "REVIEWER_NOTE: photo unreadable"]
    assert identity.identities(who) == []
    # The registry was never asked.
    entered = [e["stateEnteredEventDetails"]["name"] for e in identity.history(vid)
               if e["type"].endswith("StateEntered")]
    assert "QueryRegistry" not in entered


def test_registry_down_retries_with_backoff_then_takes_the_document_path(identity: Identity) -> None:
    identity.ddb.delete_table(TableName="IdentityRegistryTable")  # every lookup now fails: RegistryUnavailable
    who = identity.person()
    vid = identity.start(who).body["verification_id"]
    body = identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    assert body["reasons"][-1] == "REGISTRY_UNAVAILABLE" and body["path"] == ["model", "registry", "document"]
    failures = [e for e in identity.history(vid) if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    assert len(failures) == 4  # the first attempt + 3 retries of RegistryUnavailable
    # The request is not lost: the user can still finish on the document path.
    review = _document_path_to_review(identity, who, vid)
    assert identity.decide(review["review_id"], "APPROVE").status == 200
    identity.wait_status(who, vid, "VERIFIED")


def test_failed_automated_checks_reject_without_a_review(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    identity.upload(who, vid, data=b"not really a jpeg", credential_number="OTHER-0001")
    assert identity.submit(who, vid).status == 202
    body = identity.wait_status(who, vid, "REJECTED")
    assert {"DOCUMENT_CONTENT_NOT_JPEG", "CREDENTIAL_NUMBER_MISMATCH"} <= set(body["reasons"])
    assert body["reasons"][-1] == "DOCUMENT_CHECKS_FAILED"
    assert identity.reviews().body["items"] == []


def _short_waits(identity: Identity, who: Person, document: int, review: int) -> str:
    """Start an attempt as the API would, but with short waits (the execution input carries them)."""
    settings = IdentitySettings(identity_table="IdentityTable", identity_documents_bucket="x",
                                identity_document_wait_seconds=document, identity_review_wait_seconds=review)
    sfn = identity.stack.client("stepfunctions")
    service = VerificationService(identity.store, StepFunctionsWorkflow(
        identity.stack.state_machine_arn("IdentityVerificationStateMachine"), sfn),
        S3DocumentStore("x", identity.stack.client("s3")), settings)
    return service.start(who.sub, "student", CLAIM).verification_id


def test_document_wait_times_out_to_expired(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = _short_waits(identity, who, document=1, review=60)
    body = identity.wait_status(who, vid, "EXPIRED", timeout=15)
    assert body["reasons"][-1] == "DOCUMENT_WAIT_TIMED_OUT"
    assert identity.submit(who, vid).status == 409  # nothing to resume any more


def test_review_wait_times_out_to_expired_and_a_late_decision_is_refused(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = _short_waits(identity, who, document=60, review=2)
    review = _document_path_to_review(identity, who, vid)
    body = identity.wait_status(who, vid, "EXPIRED", timeout=15)
    assert body["reasons"][-1] == "REVIEW_TIMED_OUT"
    late = identity.decide(review["review_id"], "APPROVE")
    assert late.status == 409 and late.code == "REVIEW_CLOSED"
    assert identity.identities(who) == []


def test_a_new_attempt_links_to_the_previous_one_and_only_one_runs_at_a_time(identity: Identity) -> None:
    who = identity.person(WORKER)
    first = identity.start(who).body["verification_id"]
    identity.wait_status(who, first, "AWAITING_DOCUMENT")
    busy = identity.start(who)
    assert busy.status == 409 and busy.code == "ATTEMPT_IN_PROGRESS"
    identity.upload(who, first, data=b"junk")
    identity.submit(who, first)
    identity.wait_status(who, first, "REJECTED")
    second = identity.start(who)
    assert second.status == 202 and second.body["previous_verification_id"] == first


def test_state_transitions_per_path(identity: Identity) -> None:
    """Cost: Standard workflows bill per state transition."""
    who = identity.person()
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "VERIFIED")
    time.sleep(0.1)
    kinds = Counter(e["type"] for e in identity.history(vid))
    assert kinds["ExecutionSucceeded"] == 1
    entered = sum(n for k, n in kinds.items() if k.endswith("StateEntered"))
    assert entered == 7, json.dumps(kinds)  # Score, Choice, QueryRegistry, Choice, Pass, RecordOutcome, Succeed
