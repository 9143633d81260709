"""The identity services on in-memory fakes: rules, state transitions, audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.identity.catalog import identity_type
from shared.identity.errors import (
    ConcurrentAttempt,
    InvalidClaim,
    InvalidTransition,
    RegistryUnavailable,
    UnknownIdentityType,
    VerificationNotFound,
    WaitExpired,
)
from shared.identity.features import FEATURE_NAMES
from shared.identity.models import Decision, RegistryRecord, ReviewStatus, Status
from shared.identity.service import ReviewService, VerificationService, WorkflowSteps
from shared.identity.settings import IdentitySettings
from tests.identity.conftest import CLAIM, JPEG
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

SETTINGS = IdentitySettings(identity_table="t", identity_document_wait_seconds=600, identity_review_wait_seconds=300)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RECORD = RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2028, 7, 1),
                        fields={**CLAIM, "id_number": "110108200407260049"})


class FakeRealName:
    """§5's directory: users verified as (ID number, name); hashes are plain tagged strings here."""

    def __init__(self, verified: dict[str, tuple[str, str]]) -> None:
        self.verified = verified

    def id_hash(self, id_number: str) -> str:
        return "id:" + id_number

    def name_hash(self, name: str) -> str:
        return "name:" + " ".join(name.casefold().split())

    def verified_hashes(self, user_id: str) -> tuple[str, str] | None:
        found = self.verified.get(user_id)
        return (self.id_hash(found[0]), self.name_hash(found[1])) if found else None


class World:
    def __init__(self, probability: float = 0.9, registry: FakeRegistry | None = None) -> None:
        self.store, self.workflow, self.documents = FakeStore(), FakeWorkflow(), FakeDocuments()
        self.clock = Clock(NOW)
        self.predictor = FakePredictor(probability)
        self.api = VerificationService(self.store, self.workflow, self.documents, SETTINGS, self.clock)
        self.reviews = ReviewService(self.store, self.workflow, self.documents, SETTINGS, self.clock)
        self.signals = FakeSignals(self.clock)
        self.realname = FakeRealName({"u1": ("110108200407260049", "Li Hua")})
        self.steps = WorkflowSteps(self.store, SETTINGS, self.predictor, registry or FakeRegistry(RECORD),
                                   self.documents, signals=self.signals, clock=self.clock,
                                   credential_keys=FakeCredentialKeys(), realname=self.realname)


def test_start_validates_records_and_starts_the_workflow_with_the_configured_waits() -> None:
    w = World()
    with pytest.raises(UnknownIdentityType):
        w.api.start("u1", "pilot", CLAIM)
    with pytest.raises(InvalidClaim):
        w.api.start("u1", "student", {"name": "x"})
    assert w.workflow.started == []
    v = w.api.start("u1", "student", CLAIM)
    assert v.status is Status.PENDING and v.execution_arn
    [(name, payload)] = w.workflow.started
    assert name == v.verification_id
    assert payload["timeouts"] == {"document_seconds": 600, "review_seconds": 300}
    with pytest.raises(ConcurrentAttempt):
        w.api.start("u1", "student", CLAIM)
    with pytest.raises(VerificationNotFound):
        w.api.get("u2", v.verification_id)


THRESHOLD = identity_type("student").threshold


@pytest.mark.parametrize(("probability", "above"), [(THRESHOLD, False), (round(THRESHOLD + 1e-6, 6), True),
                                                    (round(THRESHOLD - 1e-6, 6), False), (0.99, True)])
def test_score_records_score_threshold_model_version_and_the_side_of_the_threshold(probability: float,
                                                                                   above: bool) -> None:
    w = World(probability)
    vid = w.api.start("u1", "student", CLAIM).verification_id
    out = w.steps.score(vid)
    assert out == {"probability": probability, "threshold": THRESHOLD, "model_version": "student-fake-1"}
    v = w.api.get("u1", vid)
    assert (v.score, v.threshold, v.model_version, v.path) == (probability, THRESHOLD, "student-fake-1", ["model"])
    # §3: the registry is asked only when P is strictly greater than the threshold (issue 9, item 10)
    assert v.reasons == ["SCORE_ABOVE_THRESHOLD" if above else "SCORE_AT_OR_BELOW_THRESHOLD"]
    assert v.audit[-1].detail["threshold"] == THRESHOLD and v.audit[-1].detail["score"] == probability
    assert w.predictor.calls[0][0] == "student"


def test_a_user_with_no_history_gets_a_real_score_and_the_missing_features_are_recorded() -> None:
    w = World(probability=0.07)
    vid = w.api.start("u9", "student", CLAIM).verification_id
    assert w.steps.score(vid)["probability"] == 0.07
    [(model, features)] = w.predictor.calls  # the model was asked, with every feature in place
    assert model == "student" and len(features) == len(FEATURE_NAMES)
    v = w.api.get("u9", vid)
    assert v.reasons == ["SCORE_AT_OR_BELOW_THRESHOLD"]
    assert {"age_years", "account_age_days", "days_inactive", "share_night", "share_wifi"} <= set(v.missing_features)
    assert "log_login_count" not in v.missing_features  # zero sign-ins is a value, not a missing feature
    assert v.audit[-1].detail["missing_features"] == v.missing_features
    # And the document path does not repeat the reason the score step gave
    w.steps.await_document(vid, "tok-doc", "SCORE_AT_OR_BELOW_THRESHOLD")
    assert w.api.get("u9", vid).reasons == ["SCORE_AT_OR_BELOW_THRESHOLD"]


def test_registry_outage_propagates_for_the_state_machine_to_retry() -> None:
    w = World(registry=FakeRegistry(down=True))
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    with pytest.raises(RegistryUnavailable):
        w.steps.query_registry(vid)
    v = w.api.get("u1", vid)
    assert v.status is Status.QUERYING_REGISTRY and v.path == ["model"]  # a retry starts from here
    w.steps.await_document(vid, "tok-1", "REGISTRY_UNAVAILABLE")
    v = w.api.get("u1", vid)
    assert v.status is Status.AWAITING_DOCUMENT and v.path == ["model", "registry", "document"]


def test_document_path_with_checks_review_and_a_tag_valid_for_the_configured_days() -> None:
    w = World(probability=0.1)
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    w.steps.await_document(vid, "tok-doc", "SCORE_AT_OR_BELOW_THRESHOLD")
    ticket = w.api.request_upload("u1", vid, "image/jpeg", "PKU2024001")
    w.documents.objects[ticket.key] = (JPEG, "image/jpeg")
    w.api.submit_document("u1", vid)
    assert w.workflow.resumed[-1][0] == "tok-doc"
    with pytest.raises(InvalidTransition):  # the token is spent: a second submission changes nothing
        w.api.submit_document("u1", vid)
    assert w.steps.check_document(vid) == {"decision": "REVIEW", "reason": "DOCUMENT_CHECKS_PASSED",
                                           "reasons": ["REGISTRY_CONFIRMED", "DOCUMENT_CHECKS_PASSED"],
                                           "findings": [], "valid_until": "2028-07-01"}
    review_id = w.steps.open_review(vid, "tok-review", ["DOCUMENT_CHECKS_PASSED"])["review_id"]
    assert w.steps.open_review(vid, "tok-review-2", [])["review_id"] == review_id  # a retried step
    assert w.reviews.decide("rev", review_id, Decision.APPROVE, "ok").status is ReviewStatus.DECIDED
    assert w.workflow.resumed[-1] == ("tok-review-2", {"decision": "APPROVE", "reason": "ok", "reviewer": "rev"})
    w.steps.record_outcome(vid, Status.VERIFIED, "REVIEW_APPROVED")
    assert w.steps.record_outcome(vid, Status.VERIFIED, "REVIEW_APPROVED") == {"status": "VERIFIED"}  # retry
    [(tag, valid)] = w.api.my_identities("u1")
    assert valid and tag.valid_until == NOW.date() + timedelta(days=365)
    assert tag.path == ["model", "document", "review"]
    w.clock.now = NOW + timedelta(days=366)
    assert w.api.my_identities("u1")[0][1] is False  # expired tags are not valid


def test_each_reason_is_recorded_once() -> None:
    # Given a score below the threshold (recorded by the score step)
    w = World(probability=0.1)
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    # When the workflow waits for a document because of it (and the step is retried)
    w.steps.await_document(vid, "tok-doc", "SCORE_AT_OR_BELOW_THRESHOLD")
    w.steps.await_document(vid, "tok-doc", "SCORE_AT_OR_BELOW_THRESHOLD")
    # Then the reason is listed once
    assert w.api.get("u1", vid).reasons == ["SCORE_AT_OR_BELOW_THRESHOLD"]


def test_a_decision_after_the_review_timed_out_is_refused() -> None:
    w = World(probability=0.1)
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    w.steps.await_document(vid, "tok-doc", "SCORE_AT_OR_BELOW_THRESHOLD")
    review_id = w.steps.open_review(vid, "tok-review", [])["review_id"]
    w.workflow.expired_tokens.add("tok-review")
    with pytest.raises(WaitExpired):
        w.reviews.decide("rev", review_id, Decision.APPROVE, "late")
    assert w.store.reviews[review_id][0].status is ReviewStatus.EXPIRED


@pytest.mark.parametrize(("verified", "reason"), [
    (None, "REALNAME_REQUIRED"),
    (("110101197808040013", "Zhao Lei"), "REGISTRY_RECORD_NOT_ACCOUNT_HOLDER"),  # someone else's record
    (("110108200407260049", "Li Wei"), "REGISTRY_RECORD_NOT_ACCOUNT_HOLDER"),
])
def test_registry_match_must_be_the_real_name_holder(verified: tuple[str, str] | None, reason: str) -> None:
    """§3 verifies the user, not what they typed: the typed claim matches the registry, but the record is not
    the account holder's verified identity (or there is none): no registry pass."""
    w = World()
    w.realname.verified = {"u1": verified} if verified else {}
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    out = w.steps.query_registry(vid)
    assert out["matched"] is False and out["reasons"] == [reason]


def test_registry_match_of_the_real_name_holder_passes() -> None:
    w = World()
    vid = w.api.start("u1", "student", CLAIM).verification_id
    w.steps.score(vid)
    out = w.steps.query_registry(vid)
    assert out["matched"] is True and out["reasons"] == ["REGISTRY_RECORD_IS_ACCOUNT_HOLDER", "REGISTRY_MATCH"]
