"""Every outcome of the automated document checks, executing the real ASL on the local stack through the API:
auto-rejection (credential verified for another account, reused image), findings in the review queue and in
the verification's view, configuration (auto-reject off, auto-approve on), the race of two approvals, and the
checks failing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from local_stack import LocalStack
from tests.identity.conftest import CLAIM, STUDENT, WORKER, Identity, Person
from tests.identity.documents import card, jpeg, png

UNKNOWN = {**CLAIM, "student_number": "PKU2024999"}  # the registry has no such student
FORMER = {"name": "Zhang Wei", "school": "Zhejiang University", "student_number": "ZJU2019007"}  # inactive, 2025


def _to_review_or_end(identity: Identity, who: Person, claim: dict[str, str], data: bytes | None = None,
                      content_type: str = "image/jpeg") -> str:
    """Low score -> document path -> upload -> submit; returns when the checks have decided."""
    reply = identity.start(who, claim)
    assert reply.status == 202, reply.body
    vid = reply.body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    identity.upload(who, vid, data=data, content_type=content_type, credential_number=claim["student_number"])
    assert identity.submit(who, vid).status == 202
    identity.wait_status(who, vid, "IN_REVIEW", "REJECTED", "VERIFIED")
    return str(vid)


def _entered(identity: Identity, vid: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in identity.history(vid) if e["type"].endswith("StateEntered")]


def _codes(items: list[dict[str, Any]]) -> list[str]:
    return [f["code"] for f in items]


@pytest.fixture
def configure(clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Change the check function's configuration (as a template parameter would); new containers start."""
    def set_env(name: str, value: str) -> None:
        monkeypatch.setitem(clean_stack.registry.specs["CheckDocumentFunction"].environment, name, value)
    yield set_env


def test_a_credential_verified_for_another_account_is_rejected_on_both_paths(identity: Identity) -> None:
    alice = identity.person(WORKER)
    first = _to_review_or_end(identity, alice, CLAIM)
    review = identity.review_for(first)
    assert review["findings"] == [] and review["checks"] == ["REGISTRY_CONFIRMED", "DOCUMENT_CHECKS_PASSED"]
    assert identity.decide(review["review_id"], "APPROVE").status == 200
    assert identity.wait_status(alice, first, "VERIFIED")["valid_until"] == "2028-07-01"  # the registry's date

    # Bob, on the document path: rejected by the checks, no reviewer involved.
    bob = identity.person(WORKER)
    second = _to_review_or_end(identity, bob, CLAIM)
    body = identity.wait_status(bob, second, "REJECTED")
    assert body["reasons"][-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    assert body["findings"] == [{"code": "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT",
                                 "message": "This credential is already verified for another account."}]
    assert "OpenReview" not in _entered(identity, second) and "ChecksRejected" in _entered(identity, second)
    assert identity.identities(bob) == []

    # Carol, whose score sends her to the registry, which matches: the outcome's write refuses her.
    carol = identity.person(STUDENT)
    third = identity.start(carol, CLAIM).body["verification_id"]
    body = identity.wait_status(carol, third, "REJECTED")
    assert body["path"] == ["model", "registry"]
    assert body["reasons"][-2:] == ["REGISTRY_MATCH", "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"]
    assert identity.identities(carol) == [] and identity.execution(third)["status"] == "SUCCEEDED"


def test_the_same_image_from_another_account_is_rejected(identity: Identity) -> None:
    image = card("one card")
    alice = identity.person(WORKER)
    first = _to_review_or_end(identity, alice, UNKNOWN, data=png(image), content_type="image/png")
    assert _codes(identity.review_for(first)["findings"]) == ["REGISTRY_NO_RECORD"]

    mallory = identity.person(WORKER)
    copy = jpeg(image.resize((640, 403), Image.Resampling.BILINEAR), 70)  # re-encoded and resized
    second = _to_review_or_end(identity, mallory, {**UNKNOWN, "student_number": "PKU2024888"}, data=copy)
    body = identity.wait_status(mallory, second, "REJECTED")
    assert body["reasons"][-1] == "DOCUMENT_IMAGE_REUSED"
    assert _codes(body["findings"]) == ["REGISTRY_NO_RECORD", "DOCUMENT_IMAGE_REUSED"]
    assert all(set(f) == {"code", "message"} for f in body["findings"])  # no other account's ids for users
    assert [i["verification_id"] for i in identity.reviews().body["items"]] == [first]


def test_findings_go_to_the_reviewer_and_to_the_user_once_decided(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = _to_review_or_end(identity, who, FORMER)
    review = identity.review_for(vid)
    assert review["findings"] == [
        {"code": "REGISTRY_RECORD_INACTIVE", "message": "The registry marks this credential as no longer active.",
         "related_verification_ids": []},
        {"code": "CREDENTIAL_EXPIRED", "message": "The credential's validity has ended.",
         "related_verification_ids": []}]
    assert identity.get(who, vid).body["findings"] == []  # not while a person is deciding
    assert identity.decide(review["review_id"], "REJECT", reason="graduated").status == 200
    body = identity.wait_status(who, vid, "REJECTED")
    assert _codes(body["findings"]) == ["REGISTRY_RECORD_INACTIVE", "CREDENTIAL_EXPIRED"]


def test_a_typed_expiry_date_limits_the_tag(identity: Identity) -> None:
    who = identity.person(WORKER)
    vid = identity.start(who, UNKNOWN).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    past = identity.api.call("POST", f"/identity-verifications/{vid}/documents",
                             {"content_type": "image/jpeg", "credential_number": UNKNOWN["student_number"],
                              "valid_until": "2020-01-31"}, token=who.token)
    assert (past.status, past.code) == (422, "CREDENTIAL_EXPIRED")
    identity.upload(who, vid, credential_number=UNKNOWN["student_number"], valid_until="2027-01-31")
    assert identity.submit(who, vid).status == 202
    identity.wait_status(who, vid, "IN_REVIEW")
    review = identity.review_for(vid)
    assert review["document_valid_until"] == "2027-01-31"
    identity.decide(review["review_id"], "APPROVE")
    assert identity.wait_status(who, vid, "VERIFIED")["valid_until"] == "2027-01-31"


def test_with_auto_reject_off_a_reused_image_goes_to_a_reviewer_with_the_finding(identity: Identity,
                                                                                configure: Any) -> None:
    configure("IDENTITY_AUTO_REJECT_FINDINGS", "")
    image = jpeg(card("shared card"))
    first = _to_review_or_end(identity, identity.person(WORKER), UNKNOWN, data=image)
    second = _to_review_or_end(identity, identity.person(WORKER), UNKNOWN, data=image)
    review = identity.review_for(second)
    reused = [f for f in review["findings"] if f["code"] == "DOCUMENT_IMAGE_REUSED"]
    assert reused and reused[0]["related_verification_ids"] == [first]


def test_with_auto_approve_on_a_clean_document_the_registry_confirms_is_verified(identity: Identity,
                                                                                configure: Any) -> None:
    configure("IDENTITY_AUTO_APPROVE", "true")
    who = identity.person(WORKER)
    vid = _to_review_or_end(identity, who, CLAIM)
    body = identity.wait_status(who, vid, "VERIFIED")
    assert body["path"] == ["model", "document"] and body["valid_until"] == "2028-07-01"
    assert body["reasons"][-2:] == ["REGISTRY_CONFIRMED", "DOCUMENT_CHECKS_APPROVED"]
    assert "OpenReview" not in _entered(identity, vid) and "ChecksApproved" in _entered(identity, vid)
    # A finding still sends the next one to a person.
    other = identity.person(WORKER)
    second = _to_review_or_end(identity, other, UNKNOWN)
    assert identity.get(other, second).body["status"] == "IN_REVIEW"


def test_two_reviews_approved_for_one_credential_verify_one_account(identity: Identity) -> None:
    """Both reached review before either was verified (nothing to find yet); the outcome's write decides."""
    alice, bob = identity.person(WORKER), identity.person(WORKER)
    first = _to_review_or_end(identity, alice, CLAIM)
    second = _to_review_or_end(identity, bob, CLAIM)
    reviews = {r["verification_id"]: r["review_id"] for r in identity.reviews().body["items"]}
    assert identity.decide(reviews[first], "APPROVE").status == 200
    assert identity.decide(reviews[second], "APPROVE").status == 200
    assert identity.wait_status(alice, first, "VERIFIED")
    body = identity.wait_status(bob, second, "REJECTED")
    assert body["reasons"][-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    assert identity.identities(bob) == [] and len(identity.identities(alice)) == 1


def test_checks_that_cannot_run_send_the_document_to_a_person_who_is_told_so(identity: Identity,
                                                                             configure: Any) -> None:
    configure("PERSONAL_DATA_HASH_SECRET_ID", "")  # the check function cannot key the credential index
    who = identity.person(WORKER)
    vid = _to_review_or_end(identity, who, CLAIM)
    review = identity.review_for(vid)
    assert review["checks"] == ["DOCUMENT_CHECKS_UNAVAILABLE"]
    assert _codes(review["findings"]) == ["AUTOMATED_CHECKS_UNAVAILABLE"]
    assert "ChecksUnavailable" in _entered(identity, vid)
