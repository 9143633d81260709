"""The automated document checks on in-memory fakes: each check, each decision, each configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from shared.identity.errors import CredentialExpired
from shared.identity.models import Finding, FindingCode, RegistryRecord, Status
from shared.identity.service import VerificationService, WorkflowSteps
from shared.identity.settings import IdentitySettings
from tests.identity.conftest import CLAIM
from tests.identity.documents import card, card_jpeg, jpeg, pdf, png
from tests.identity.fakes import (
    Clock,
    FakeCredentialKeys,
    FakeDocuments,
    FakePredictor,
    FakeRegistry,
    FakeSignals,
    FakeStore,
    FakeWorkflow,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RECORD = RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2028, 7, 1), fields=CLAIM)
DEFAULTS = IdentitySettings(identity_table="t")


class World:
    """Users who reach the document checks: start, score (below the threshold), upload, submit."""

    def __init__(self, record: RegistryRecord | None = RECORD, **settings: Any) -> None:
        self.settings = IdentitySettings(identity_table="t", **settings)
        self.store, self.workflow, self.documents = FakeStore(), FakeWorkflow(), FakeDocuments()
        self.clock = Clock(NOW)
        self.registry = FakeRegistry(record)
        self.api = VerificationService(self.store, self.workflow, self.documents, self.settings, self.clock)
        self.steps = WorkflowSteps(self.store, self.settings, FakePredictor(0.01), self.registry, self.documents,
                                   self.clock, credential_keys=FakeCredentialKeys(),
                                   signals=FakeSignals(self.clock))

    def submit(self, user: str, data: bytes | None = None, content_type: str = "image/jpeg",
               claim: dict[str, str] = CLAIM, valid_until: date | None = None) -> str:
        vid = self.api.start(user, "student", claim).verification_id
        self.steps.score(vid)
        self.steps.await_document(vid, f"tok-{vid}", "SCORE_AT_OR_BELOW_THRESHOLD")
        ticket = self.api.request_upload(user, vid, content_type, claim["student_number"], valid_until)
        self.documents.objects[ticket.key] = (card_jpeg(vid) if data is None else data, content_type)
        self.api.submit_document(user, vid)
        return vid

    def check(self, vid: str) -> dict[str, Any]:
        self.clock.now += timedelta(seconds=1)  # submissions are seconds apart, not simultaneous
        return self.steps.check_document(vid)

    def verify(self, vid: str) -> str:
        """A reviewer approved: the outcome step as the state machine calls it."""
        return str(self.steps.record_outcome(vid, Status.VERIFIED, "REVIEW_APPROVED")["status"])

    def reject(self, vid: str) -> None:
        self.steps.record_outcome(vid, Status.REJECTED, "REVIEW_REJECTED")


def codes(result: dict[str, Any]) -> list[str]:
    return [f["code"] for f in result["findings"]]


def test_a_clean_document_the_registry_confirms_goes_to_a_reviewer_by_default() -> None:
    w = World()
    result = w.check(w.submit("u1"))
    assert result == {"decision": "REVIEW", "reason": "DOCUMENT_CHECKS_PASSED", "findings": [],
                      "reasons": ["REGISTRY_CONFIRMED", "DOCUMENT_CHECKS_PASSED"], "valid_until": "2028-07-01"}


def test_the_registry_is_asked_again_by_number_and_institution() -> None:
    w = World(record=None)
    result = w.check(w.submit("u1"))
    assert codes(result) == ["REGISTRY_NO_RECORD"] and result["decision"] == "REVIEW"
    assert result["reason"] == "DOCUMENT_CHECKS_PASSED_WITH_FINDINGS" and result["valid_until"] is None
    [f] = result["findings"]
    assert f["message"] == "The registry has no record of this credential number at this institution."


@pytest.mark.parametrize(("record", "expected"), [
    (RECORD.model_copy(update={"fields": {**CLAIM, "name": "Wang Fang"}}), ["REGISTRY_NAME_MISMATCH"]),
    (RECORD.model_copy(update={"identity_type": "teacher"}), ["REGISTRY_IDENTITY_TYPE_MISMATCH"]),
    (RECORD.model_copy(update={"fields": {**CLAIM, "school": "Fudan University"}}), ["REGISTRY_KEY_MISMATCH"]),
    (RECORD.model_copy(update={"status": "INACTIVE", "valid_until": date(2025, 7, 1)}),
     ["REGISTRY_RECORD_INACTIVE", "CREDENTIAL_EXPIRED"]),
    (RECORD.model_copy(update={"valid_until": NOW.date()}), ["CREDENTIAL_EXPIRED"]),
])
def test_a_registry_record_that_does_not_match_the_claim_is_a_finding(record: RegistryRecord,
                                                                      expected: list[str]) -> None:
    w = World(record=record)
    vid = w.submit("u1")
    result = w.check(vid)
    assert codes(result) == expected and result["decision"] == "REVIEW"
    v = w.api.get("u1", vid)
    assert [f.code.value for f in v.findings] == expected  # kept on the verification for its view
    assert "REGISTRY_CONFIRMED" not in v.reasons


def test_a_registry_outage_is_a_finding_for_the_reviewer_not_a_failure() -> None:
    w = World()
    w.registry.down = True
    result = w.check(w.submit("u1"))
    assert codes(result) == ["REGISTRY_UNAVAILABLE"] and result["decision"] == "REVIEW"


def test_the_credential_validity_typed_from_the_card() -> None:
    w = World(record=None)
    with pytest.raises(CredentialExpired):
        w.submit("u0", valid_until=NOW.date())
    vid = w.submit("u1", valid_until=NOW.date() + timedelta(days=10))
    w.clock.now = NOW + timedelta(days=11)  # it ran out while the user waited
    assert codes(w.check(vid)) == ["REGISTRY_NO_RECORD", "CREDENTIAL_EXPIRED"]
    w.clock.now = NOW
    vid2 = w.submit("u2", valid_until=NOW.date() + timedelta(days=100))
    assert codes(w.check(vid2)) == ["REGISTRY_NO_RECORD"]
    w.steps.open_review(vid2, "tok", [], [])
    w.verify(vid2)  # a reviewed credential is valid no longer than it says
    assert w.api.get("u2", vid2).valid_until == NOW.date() + timedelta(days=100)


def test_a_credential_verified_for_another_account_is_rejected() -> None:
    w = World()
    first = w.submit("alice")
    w.check(first)
    assert w.verify(first) == "VERIFIED"
    # Alice again (a renewal) is not "another account".
    again = w.submit("alice")
    assert codes(w.check(again)) == []
    # Bob, with the same credential typed differently (case, spacing), is.
    bob_claim = {**CLAIM, "school": "  peking  UNIVERSITY", "student_number": "pku2024001"}
    bob = w.submit("bob", claim=bob_claim)
    result = w.check(bob)
    assert result["decision"] == "REJECT" and result["reason"] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    assert result["findings"][0]["related"] == [first]
    assert w.api.get("bob", bob).reasons[-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"  # recorded once, last


def test_the_outcome_write_refuses_a_second_account_even_after_a_review() -> None:
    """Two reviews of the same credential for two accounts, approved one after the other (auto-reject off:
    both were checked before either was verified)."""
    w = World(identity_auto_reject_findings="")
    alice, bob = w.submit("alice"), w.submit("bob")
    assert w.check(alice)["decision"] == w.check(bob)["decision"] == "REVIEW"
    assert w.verify(alice) == "VERIFIED"
    assert w.verify(bob) == "REJECTED"
    v = w.api.get("bob", bob)
    assert v.status is Status.REJECTED and v.reasons[-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    assert [f.code for f in v.findings] == [FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT]
    assert v.findings[0].related == [alice]
    assert [t.user_id for t in w.store.tags.values()] == ["alice"]


def test_the_same_image_from_another_account_is_rejected_even_re_encoded_and_resized() -> None:
    w = World(record=None)
    original = card("stolen")
    first = w.submit("alice", png(original), "image/png")
    assert codes(w.check(first)) == ["REGISTRY_NO_RECORD"]
    smaller = jpeg(original.resize((700, 441), Image.Resampling.BILINEAR), 60)
    second = w.submit("mallory", smaller, claim={**CLAIM, "student_number": "PKU2024777"})
    result = w.check(second)
    assert result["decision"] == "REJECT" and result["reason"] == "DOCUMENT_IMAGE_REUSED"
    reused = next(f for f in result["findings"] if f["code"] == "DOCUMENT_IMAGE_REUSED")
    assert reused["related"] == [first]
    # The same account sending its own image again, and another account with another card, are fine.
    w.reject(first)
    assert "DOCUMENT_IMAGE_REUSED" not in codes(w.check(w.submit("alice", jpeg(original, 80))))
    assert "DOCUMENT_IMAGE_REUSED" not in codes(w.check(w.submit("carol", jpeg(card("carol's own")))))


def test_a_pdf_is_reused_only_as_an_exact_copy() -> None:
    w = World(record=None)
    first = w.submit("alice", pdf("alice"), "application/pdf")
    w.check(first)
    assert w.check(w.submit("bob", pdf("alice"), "application/pdf"))["reason"] == "DOCUMENT_IMAGE_REUSED"
    assert "DOCUMENT_IMAGE_REUSED" not in codes(w.check(w.submit("carol", pdf("carol"), "application/pdf")))


def test_submissions_older_than_the_window_do_not_count() -> None:
    w = World(record=None, identity_image_index_days=30)
    w.check(w.submit("alice", jpeg(card("old"))))
    w.clock.now = NOW + timedelta(days=31)
    assert "DOCUMENT_IMAGE_REUSED" not in codes(w.check(w.submit("bob", jpeg(card("old")))))


def test_too_many_similar_documents_to_compare_is_said_not_hidden() -> None:
    w = World(record=None, identity_image_max_candidates=16)
    image = jpeg(card("popular"))
    for i in range(2):
        w.check(w.submit(f"user{i}", image))
    result = w.check(w.submit("late", image))
    assert {"DOCUMENT_IMAGE_REUSED", "DOCUMENT_IMAGE_CHECK_INCOMPLETE"} <= set(codes(result))


@pytest.mark.parametrize(("data", "content_type", "failure"), [
    (b"\xff\xd8\xff\xe0" + b"\x00" * 2048, "image/jpeg", "DOCUMENT_NOT_DECODABLE"),
    (b"GIF89a" + b"\x00" * 100, "image/jpeg", "DOCUMENT_CONTENT_NOT_JPEG"),
    (card_jpeg("x"), "image/png", "DOCUMENT_CONTENT_NOT_PNG"),
])
def test_a_bad_file_is_rejected_before_anything_is_asked_or_indexed(data: bytes, content_type: str,
                                                                    failure: str) -> None:
    w = World()
    w.registry.down = True  # would be a finding if it were asked
    result = w.check(w.submit("u1", data, content_type))
    assert result["decision"] == "REJECT" and result["reason"] == "DOCUMENT_CHECKS_FAILED"
    assert result["reasons"] == [failure, "DOCUMENT_CHECKS_FAILED"] and result["findings"] == []
    assert w.store.fingerprints == {}


def test_auto_reject_is_configuration() -> None:
    w = World(identity_auto_reject_findings="DOCUMENT_IMAGE_REUSED,REGISTRY_NO_RECORD")
    assert w.settings.identity_auto_reject_findings == (FindingCode.DOCUMENT_IMAGE_REUSED,
                                                        FindingCode.REGISTRY_NO_RECORD)
    w.registry.record = None
    assert w.check(w.submit("u1"))["reason"] == "REGISTRY_NO_RECORD"
    off = World(record=None, identity_auto_reject_findings="")
    off.check(off.submit("alice", jpeg(card("shared"))))
    result = off.check(off.submit("bob", jpeg(card("shared"))))
    assert result["decision"] == "REVIEW" and "DOCUMENT_IMAGE_REUSED" in codes(result)


def test_auto_approval_is_off_by_default_and_needs_the_registry_and_no_finding() -> None:
    assert DEFAULTS.identity_auto_approve is False
    assert set(DEFAULTS.identity_auto_reject_findings) == {FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT,
                                                           FindingCode.DOCUMENT_IMAGE_REUSED}
    w = World(identity_auto_approve=True)
    approved = w.check(w.submit("u1"))
    assert approved["decision"] == "APPROVE" and approved["reason"] == "DOCUMENT_CHECKS_APPROVED"
    assert approved["valid_until"] == "2028-07-01"
    w.registry.record = RECORD.model_copy(update={"fields": {**CLAIM, "name": "Li Hui"}})
    assert w.check(w.submit("u2"))["decision"] == "REVIEW"
    w.registry.record = None
    assert w.check(w.submit("u3"))["decision"] == "REVIEW"


def test_the_review_item_carries_the_findings() -> None:
    w = World(record=None)
    vid = w.submit("u1")
    result = w.check(vid)
    review_id = w.steps.open_review(vid, "tok-r", result["reasons"],
                                    [Finding.model_validate(f) for f in result["findings"]])["review_id"]
    review = w.store.reviews[review_id][0]
    assert [f.code for f in review.findings] == [FindingCode.REGISTRY_NO_RECORD]
    assert review.checks == ["REGISTRY_NO_RECORD", "DOCUMENT_CHECKS_PASSED_WITH_FINDINGS"]
