"""The credential and fingerprint indexes on DynamoDB (the serialized emulator): the put-once holder refuses a
second account in the outcome's own write, under concurrency; the fingerprint index finds the same document
submitted at once by several accounts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from shared.identity.errors import CredentialHeldElsewhere, InvalidTransition
from shared.identity.models import (
    AuditEvent,
    CredentialHolder,
    Fingerprint,
    FingerprintEntry,
    Status,
)
from shared.identity.service import VerificationService, WorkflowSteps
from shared.identity.settings import IdentitySettings
from tests.identity.conftest import CLAIM, Identity
from tests.identity.documents import card, jpeg
from tests.identity.fakes import (
    FakeCredentialKeys,
    FakeDocuments,
    FakePredictor,
    FakeRegistry,
    FakeSignals,
    FakeWorkflow,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SETTINGS = IdentitySettings(identity_table="IdentityTable")


def _steps(identity: Identity) -> tuple[VerificationService, WorkflowSteps, FakeDocuments]:
    documents = FakeDocuments()
    api = VerificationService(identity.store, FakeWorkflow(), documents, SETTINGS)
    steps = WorkflowSteps(identity.store, SETTINGS, FakePredictor(0.01), FakeRegistry(None), documents,
                          credential_keys=FakeCredentialKeys(), signals=FakeSignals(lambda: NOW))
    return api, steps, documents


def _to_documents(api: VerificationService, steps: WorkflowSteps, documents: FakeDocuments, user: str,
                  data: bytes) -> str:
    vid = api.start(user, "student", CLAIM).verification_id
    steps.score(vid)
    steps.await_document(vid, f"tok-{vid}", "SCORE_AT_OR_BELOW_THRESHOLD")
    ticket = api.request_upload(user, vid, "image/jpeg", CLAIM["student_number"])
    documents.objects[ticket.key] = (data, "image/jpeg")
    api.submit_document(user, vid)
    return vid


def test_the_holder_is_put_once_per_credential_and_refuses_another_account(identity: Identity) -> None:
    store = identity.store
    api, steps, documents = _steps(identity)
    alice = _to_documents(api, steps, documents, "alice", jpeg(card("a")))
    bob = _to_documents(api, steps, documents, "bob", jpeg(card("b")))
    audit = AuditEvent(at=NOW, step="outcome")
    held = CredentialHolder(credential_key="k1", user_id="alice", identity_type="student", verification_id=alice,
                            verified_at=NOW)
    store.record_outcome(alice, Status.VERIFIED, {}, ["REVIEW_APPROVED"], audit, None, held)
    assert store.credential_holder("k1") == held
    try:
        store.record_outcome(bob, Status.VERIFIED, {}, ["REVIEW_APPROVED"], audit, None,
                             held.model_copy(update={"user_id": "bob", "verification_id": bob}))
        raise AssertionError("a second account's holder was written")
    except CredentialHeldElsewhere as exc:
        assert exc.details == {"verification_id": alice}
    assert api.get("bob", bob).status is Status.AWAITING_DOCUMENT  # nothing of the refused write committed
    assert store.credential_holder("k1") == held
    # A final verification cannot be overwritten either, holder or not.
    try:
        store.record_outcome(alice, Status.REJECTED, {}, ["X"], audit, None)
        raise AssertionError("a final status was overwritten")
    except InvalidTransition:
        pass


def test_concurrent_approvals_of_one_credential_verify_exactly_one_account(identity: Identity) -> None:
    """Eight accounts' reviews of the same credential approved at once: one VERIFIED, seven REJECTED with the
    finding, one tag, one holder."""
    api, steps, documents = _steps(identity)
    users = [f"user-{i}" for i in range(8)]
    vids = {u: _to_documents(api, steps, documents, u, jpeg(card(u))) for u in users}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda u: steps.record_outcome(vids[u], Status.VERIFIED, "REVIEW_APPROVED"),
                                 users))
    assert sorted(s["status"] for s in statuses) == ["REJECTED"] * 7 + ["VERIFIED"]
    [winner] = [u for u, s in zip(users, statuses, strict=True) if s["status"] == "VERIFIED"]
    for user in users:
        v = api.get(user, vids[user])
        tags = identity.store.list_tags(user)
        if user == winner:
            assert v.status is Status.VERIFIED and len(tags) == 1
        else:
            assert v.status is Status.REJECTED and tags == []
            assert v.reasons[-1] == "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
            assert v.findings[0].related == [vids[winner]]


def test_the_same_image_submitted_at_once_by_several_accounts_is_caught(identity: Identity) -> None:
    """Each check writes its index entries before it reads: of any two simultaneous submissions at least one
    sees the other, so at most one of N goes unflagged."""
    api, steps, documents = _steps(identity)
    image = card("one card, many accounts")
    users = [f"user-{i}" for i in range(6)]
    vids = [_to_documents(api, steps, documents, u, jpeg(image, 60 + 5 * i)) for i, u in enumerate(users)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(steps.check_document, vids))
    unflagged = [r for r in results if r["reason"] != "DOCUMENT_IMAGE_REUSED"]
    assert len(unflagged) <= 1, [r["reasons"] for r in results]


def test_the_fingerprint_index_reads_a_window_and_at_most_a_limit(identity: Identity) -> None:
    store = identity.store
    fp = Fingerprint(kind="phash256", value="ab" * 32)
    keys = ["phash256#00#abab", "phash256#01#abab"]
    for i in range(5):
        store.index_fingerprint(FingerprintEntry(fingerprint=fp, verification_id=f"iv_{i}", user_id=f"u{i}",
                                                 submitted_at=NOW + timedelta(days=i)), keys)
    store.index_fingerprint(FingerprintEntry(fingerprint=fp, verification_id="iv_0", user_id="u0",
                                             submitted_at=NOW), keys)  # a retried step: idempotent
    entries, truncated = store.fingerprints_under(keys, NOW, 100)
    assert sorted(e.verification_id for e in entries) == [f"iv_{i}" for i in range(5)] and not truncated
    assert entries[0].fingerprint == fp
    recent, _ = store.fingerprints_under(keys, NOW + timedelta(days=3), 100)
    assert sorted(e.verification_id for e in recent) == ["iv_3", "iv_4"]
    some, truncated = store.fingerprints_under(keys, NOW, 3)
    assert len(some) == 3 and truncated
