"""Business rules of specific-identity verification (SPEC §3).

``VerificationService`` serves the user's API, ``ReviewService`` the reviewers',
``WorkflowSteps`` the state machine's Lambda tasks. All depend on small ports
(store, documents, workflow, predictor, registry) so tests can use fakes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.clock import utcnow
from shared.decisions import ensure_not_party
from shared.errors import InvalidInput
from shared.identity import imagehash
from shared.identity.catalog import IdentityType, identity_type
from shared.identity.checks import RegistryAnswer, decide, finding, registry_answer
from shared.identity.errors import (
    ConcurrentAttempt,
    CredentialExpired,
    CredentialHeldElsewhere,
    DocumentNotUploaded,
    DocumentTooLarge,
    DocumentTypeMismatch,
    InvalidCredentialNumber,
    InvalidTransition,
    RegistryUnavailable,
    ReviewClosed,
    ReviewNotFound,
    TaskExpired,
    UnsupportedDocumentType,
    VerificationNotFound,
    WaitExpired,
)
from shared.identity.features import build_features
from shared.identity.models import (
    FINAL,
    AuditEvent,
    CredentialHolder,
    Decision,
    Document,
    Finding,
    FindingCode,
    Fingerprint,
    FingerprintEntry,
    IdentityTag,
    MatchResult,
    RegistryRecord,
    Review,
    ReviewStatus,
    Status,
    Verification,
    normalize,
)
from shared.identity.ports import (
    CredentialKeys,
    DocumentStore,
    IdentityStore,
    RealNameHolder,
    Registry,
    SignalsReader,
    Workflow,
)
from shared.identity.predictor import Predictor
from shared.identity.settings import ALLOWED_DOCUMENT_TYPES, IdentitySettings

Clock = Callable[[], datetime]
MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "application/pdf": (b"%PDF-",)}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def mask(value: str) -> str:
    """Show the last 3 characters only (credential numbers in responses)."""
    return "*" * max(0, len(value) - 3) + value[-3:]


def match(identity_type: IdentityType, claimed: dict[str, str], record: RegistryRecord | None,
          today: date) -> MatchResult:
    """Whether a registry record confirms a claim. All must hold:

    1. the registry has a record under the claimed key (e.g. school + student number), of the claimed type;
    2. the record is ``ACTIVE`` (enrolled / employed);
    3. the claimed name equals the record's name after ``normalize``, and so does every key field;
    4. the record's ``valid_until`` (e.g. expected graduation) is after today.
    The tag's validity is the record's ``valid_until``.
    """
    if record is None:
        return MatchResult(matched=False, reasons=["REGISTRY_NO_RECORD"])
    reasons = []
    if record.identity_type != identity_type.name:
        reasons.append("REGISTRY_MISMATCH_IDENTITY_TYPE")
    if record.status != "ACTIVE":
        reasons.append("REGISTRY_RECORD_INACTIVE")
    for name in ("name", *identity_type.registry_key):
        if name in claimed and normalize(record.fields.get(name, "")) != normalize(claimed[name]):
            reasons.append(f"REGISTRY_MISMATCH_{name.upper()}")
    if record.valid_until <= today:
        reasons.append("REGISTRY_RECORD_EXPIRED")
    if reasons:
        return MatchResult(matched=False, reasons=reasons)
    return MatchResult(matched=True, reasons=["REGISTRY_MATCH"], valid_until=record.valid_until)


class UploadTicket(BaseModel):
    upload_url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_in: int


class ReviewView(BaseModel):
    review: Review
    verification: Verification
    document_url: str | None


class VerificationService:
    def __init__(self, store: IdentityStore, workflow: Workflow, documents: DocumentStore,
                 settings: IdentitySettings, clock: Clock = utcnow) -> None:
        self.store = store
        self.workflow = workflow
        self.documents = documents
        self.settings = settings
        self.clock = clock

    def start(self, user_id: str, type_name: str, claimed: dict[str, Any],
              request_key: str | None = None) -> Verification:
        """With the request's ``Idempotency-Key`` the verification id is derived from it (user, key): a retry after
        a crash between the record and the idempotency record finds its own attempt, not a concurrent one, and
        starts its workflow if the crash came before that (executions are named by the verification id)."""
        t = identity_type(type_name)
        clean = t.validate_claimed(claimed)
        verification_id = _verification_id(user_id, request_key)
        previous_id = self.store.latest_verification_id(user_id, t.name)
        if previous_id:
            found = self.store.get_verification(previous_id)
            if found and previous_id == verification_id:
                return found[0] if found[0].execution_arn else self._start_workflow(found[0])
            if found and found[0].status not in FINAL:
                raise ConcurrentAttempt(verification_id=previous_id)
        now = self.clock()
        v = Verification(
            verification_id=verification_id, user_id=user_id, identity_type=t.name, claimed=clean,
            status=Status.PENDING, previous_verification_id=previous_id, created_at=now, updated_at=now,
            audit=[AuditEvent(at=now, step="requested", detail={"previous_verification_id": previous_id})],
        )
        self.store.create_verification(v, previous_id)
        return self._start_workflow(v)

    def _start_workflow(self, v: Verification) -> Verification:
        payload = {"verification_id": v.verification_id, "identity_type": v.identity_type,
                   "timeouts": {"document_seconds": self.settings.identity_document_wait_seconds,
                                "review_seconds": self.settings.identity_review_wait_seconds}}
        arn = self.workflow.start(v.verification_id, json.dumps(payload))
        return self.store.update_verification(v.verification_id, fields={"execution_arn": arn},
                                              audit=AuditEvent(at=self.clock(), step="workflow_started"))

    def get(self, user_id: str, verification_id: str) -> Verification:
        found = self.store.get_verification(verification_id)
        if not found or found[0].user_id != user_id:  # a foreign id is indistinguishable from a missing one
            raise VerificationNotFound(verification_id=verification_id[:80])
        return found[0]

    def request_upload(self, user_id: str, verification_id: str, content_type: str,
                       credential_number: str, valid_until: date | None = None) -> UploadTicket:
        v = self.get(user_id, verification_id)
        if content_type not in ALLOWED_DOCUMENT_TYPES:
            raise UnsupportedDocumentType(allowed=list(ALLOWED_DOCUMENT_TYPES))
        t = identity_type(v.identity_type)
        try:
            t.validate_claimed({**v.claimed, t.credential_field: credential_number})
        except InvalidInput as exc:  # any claim error means the number is malformed
            raise InvalidCredentialNumber(field=t.credential_field) from exc
        now = self.clock()
        if valid_until is not None and valid_until <= now.date():
            raise CredentialExpired(valid_until=valid_until.isoformat())
        if v.status is not Status.AWAITING_DOCUMENT:
            raise InvalidTransition("The verification is not waiting for a document.", status=v.status.value)
        key = f"identity/{v.verification_id}/{uuid.uuid4().hex}"
        doc = Document(key=key, content_type=content_type, credential_number=credential_number.strip(),
                       requested_at=now, valid_until=valid_until)
        self.store.update_verification(
            v.verification_id, expect={Status.AWAITING_DOCUMENT}, fields={"document": doc.model_dump()},
            audit=AuditEvent(at=now, step="document_upload_requested", detail={"content_type": content_type}))
        post = self.documents.presigned_post(key, content_type, self.settings.identity_max_document_bytes,
                                             self.settings.identity_upload_url_seconds)
        return UploadTicket(upload_url=post["url"], fields={k: str(x) for k, x in post["fields"].items()}, key=key,
                            max_bytes=self.settings.identity_max_document_bytes,
                            expires_in=self.settings.identity_upload_url_seconds)

    def submit_document(self, user_id: str, verification_id: str) -> Verification:
        v = self.get(user_id, verification_id)
        found = self.store.get_verification(verification_id)
        token = found[1].get("document_task_token") if found else None
        if v.status is not Status.AWAITING_DOCUMENT or not token:
            raise InvalidTransition("The verification is not waiting for a document.", status=v.status.value)
        if v.document is None:
            raise DocumentNotUploaded()
        head = self.documents.head(v.document.key)
        if head is None:
            raise DocumentNotUploaded()
        size, stored_type = head
        if not 0 < size <= self.settings.identity_max_document_bytes:
            self.documents.delete(v.document.key)
            raise DocumentTooLarge(max_bytes=self.settings.identity_max_document_bytes)
        if stored_type.split(";")[0].strip() != v.document.content_type:
            self.documents.delete(v.document.key)
            raise DocumentTypeMismatch(declared=v.document.content_type)
        doc = v.document
        if doc.submitted_at is None:
            now = self.clock()
            doc = doc.model_copy(update={"submitted_at": now, "size": size})
            v = self.store.update_verification(
                verification_id, expect={Status.AWAITING_DOCUMENT}, fields={"document": doc.model_dump()},
                require={"document_task_token": token},
                audit=AuditEvent(at=now, step="document_submitted", detail={"size": size}))
        # The wait's token goes only once the workflow has been told: a retry after a crash in between (the
        # submission recorded, the workflow not resumed) finds it and resumes the workflow with the same document.
        try:
            self.workflow.resume(token, json.dumps({"key": doc.key, "content_type": doc.content_type, "size": size}))
        except TaskExpired as exc:
            raise WaitExpired() from exc
        with contextlib.suppress(InvalidTransition):  # the workflow already moved on (its next step removes it)
            self.store.update_verification(verification_id, remove=["document_task_token"],
                                           require={"document_task_token": token},
                                           audit=AuditEvent(at=self.clock(), step="document_handed_over", detail={}))
        return v

    def my_identities(self, user_id: str) -> list[tuple[IdentityTag, bool]]:
        today = self.clock().date()
        return [(tag, today < tag.valid_until) for tag in self.store.list_tags(user_id)]


class ReviewService:
    def __init__(self, store: IdentityStore, workflow: Workflow, documents: DocumentStore,
                 settings: IdentitySettings, clock: Clock = utcnow) -> None:
        self.store = store
        self.workflow = workflow
        self.documents = documents
        self.settings = settings
        self.clock = clock

    def open_reviews(self, limit: int, cursor: str | None) -> tuple[list[ReviewView], str | None]:
        reviews, next_cursor = self.store.list_open_reviews(limit, cursor)
        views = []
        for review in reviews:
            found = self.store.get_verification(review.verification_id)
            if not found:
                continue
            v = found[0]
            url = self.documents.presigned_get(v.document.key, 900) if v.document else None
            views.append(ReviewView(review=review, verification=v, document_url=url))
        return views, next_cursor

    def decide(self, reviewer: str, review_id: str, decision: Decision, reason: str) -> Review:
        found = self.store.get_review(review_id)
        if not found:
            raise ReviewNotFound(review_id=review_id[:80])
        review, token = found
        ensure_not_party(reviewer, [review.user_id], case="identity_review")
        if review.status is ReviewStatus.DECIDED and token is not None and review.decision == decision \
                and review.reviewer == reviewer:
            decided = review  # a retry: the decision was recorded, the workflow not told (a crash in between)
        else:
            decided = self.store.close_review(review_id, ReviewStatus.DECIDED, {
                "decision": decision.value, "reason": reason, "reviewer": reviewer, "decided_at": self.clock()},
                keep_token=True)
        if token is None:
            raise WaitExpired()
        try:
            self.workflow.resume(token, json.dumps({"decision": decision.value, "reason": reason,
                                                    "reviewer": reviewer}))
        except TaskExpired as exc:
            self.store.close_review(review_id, ReviewStatus.EXPIRED, {}, expect=ReviewStatus.DECIDED)
            raise WaitExpired() from exc
        # the token goes once the workflow has it: until then a retry of this decision resumes the workflow
        self.store.forget_review_token(review_id, token)
        return decided


class WorkflowSteps:
    """The state machine's Lambda tasks; each is safe to retry."""

    def __init__(self, store: IdentityStore, settings: IdentitySettings, predictor: Predictor | None = None,
                 registry: Registry | None = None, documents: DocumentStore | None = None,
                 clock: Clock = utcnow, credential_keys: CredentialKeys | None = None,
                 signals: SignalsReader | None = None, realname: RealNameHolder | None = None) -> None:
        self.store = store
        self.settings = settings
        self.predictor = predictor
        self.signals = signals
        self.registry = registry
        self.documents = documents
        self.credential_keys = credential_keys
        self.clock = clock
        self.realname = realname

    def _holder(self, user_id: str, record: RegistryRecord | None, result: MatchResult) -> MatchResult:
        """§3 verifies the user, not what they typed: a registry match counts only if the record is the
        account holder's verified real-name identity (keyed hashes of the ID number and the name). Without
        real-name status (or no §5 directory configured) the claim goes to the document-and-review path."""
        if not result.matched or record is None:
            return result
        hashes = self.realname.verified_hashes(user_id) if self.realname else None
        if hashes is None:
            return MatchResult(matched=False, reasons=["REALNAME_REQUIRED"])
        id_number, name = record.fields.get("id_number"), record.fields.get("name")
        assert self.realname is not None
        if not id_number or not name:
            return MatchResult(matched=False, reasons=["REGISTRY_RECORD_WITHOUT_ID_NUMBER"])
        if (self.realname.id_hash(id_number), self.realname.name_hash(name)) != hashes:
            return MatchResult(matched=False, reasons=["REGISTRY_RECORD_NOT_ACCOUNT_HOLDER"])
        return MatchResult(matched=True, reasons=["REGISTRY_RECORD_IS_ACCOUNT_HOLDER", *result.reasons],
                           valid_until=result.valid_until)

    def _load(self, verification_id: str) -> Verification:
        found = self.store.get_verification(verification_id)
        if not found:
            raise VerificationNotFound(verification_id=verification_id)
        return found[0]

    def score(self, verification_id: str) -> dict[str, Any]:
        """P(identity) from the user's projected activity profile (risk signals). A user with no history is
        scored too (with the features it lacks as missing, recorded on the verification). The registry is
        asked only when P > threshold (§3: strictly greater)."""
        assert self.predictor is not None and self.signals is not None
        v = self._load(verification_id)
        t = identity_type(v.identity_type)
        features = build_features(self.signals.profile(v.user_id))
        prediction = self.predictor.predict(t.model, features.values)
        probability, version = prediction.probability, prediction.model_version
        above = probability > t.threshold
        reasons = ["SCORE_ABOVE_THRESHOLD" if above else "SCORE_AT_OR_BELOW_THRESHOLD"]
        missing = list(features.missing)
        now = self.clock()
        self.store.update_verification(
            verification_id, expect={Status.PENDING}, path=["model"], reasons=reasons,
            fields={"score": round(probability, 6), "threshold": t.threshold, "model_version": version,
                    "missing_features": missing},
            audit=AuditEvent(at=now, step="scored", detail={"score": round(probability, 6),
                                                            "threshold": t.threshold, "model_version": version,
                                                            "missing_features": missing}))
        return {"probability": round(probability, 6), "threshold": t.threshold, "model_version": version}

    def query_registry(self, verification_id: str) -> dict[str, Any]:
        assert self.registry is not None
        v = self._load(verification_id)
        t = identity_type(v.identity_type)
        if v.status is Status.PENDING:
            self.store.update_verification(verification_id, expect={Status.PENDING}, status=Status.QUERYING_REGISTRY,
                                           audit=AuditEvent(at=self.clock(), step="registry_query_started",
                                                            detail={"registry": t.registry}))
        record = self.registry.lookup(t, v.claimed)  # RegistryUnavailable: the state machine retries
        now = self.clock()
        result = self._holder(v.user_id, record, match(t, v.claimed, record, now.date()))
        self.store.update_verification(
            verification_id, expect={Status.QUERYING_REGISTRY}, path=["registry"], reasons=result.reasons,
            audit=AuditEvent(at=now, step="registry_checked", detail={"matched": result.matched,
                                                                       "registry": t.registry}))
        return {"matched": result.matched, "reasons": result.reasons,
                "valid_until": result.valid_until.isoformat() if result.valid_until else None}

    def await_document(self, verification_id: str, task_token: str, reason: str) -> dict[str, Any]:
        now = self.clock()
        before = self._load(verification_id)
        v = self.store.update_verification(
            verification_id, expect={Status.PENDING, Status.QUERYING_REGISTRY, Status.AWAITING_DOCUMENT},
            status=Status.AWAITING_DOCUMENT, fields={"document_task_token": task_token},
            # a retried step (its first try committed, the answer was lost) adds nothing to the path twice
            path=[] if before.status is Status.AWAITING_DOCUMENT
            else ["registry", "document"] if reason == "REGISTRY_UNAVAILABLE" else ["document"],
            reasons=_not_yet_recorded(before, [reason]),
            audit=AuditEvent(at=now, step="awaiting_document", detail={"reason": reason}))
        return {"status": v.status.value}

    def check_document(self, verification_id: str) -> dict[str, Any]:
        """The automated checks of the uploaded credential (rules: ``checks.py``). The file first (a failure
        rejects); then the registry asked again by the credential's number and institution, the credential
        index (verified for another account?), the fingerprint index (the same document from another
        account?) and the credential's validity. Returns the decision for the state machine's Choice."""
        v = self._load(verification_id)
        t = identity_type(v.identity_type)
        now = self.clock()
        failures, data = self._file_checks(v, t)
        findings: list[Finding] = []
        confirmed, valid_until, fingerprint = False, None, None
        if not failures and v.document is not None and data is not None:
            try:
                fingerprint = imagehash.fingerprint(data, v.document.content_type)
            except imagehash.UnreadableImage as exc:
                failures.append(exc.code)
        if not failures and v.document is not None and fingerprint is not None:
            answer = self._registry_answer(v, t, now)
            findings += answer.findings
            confirmed, valid_until = answer.confirmed, answer.valid_until
            if v.document.valid_until is not None and v.document.valid_until <= now.date() and not any(
                    f.code is FindingCode.CREDENTIAL_EXPIRED for f in findings):
                findings.append(finding(FindingCode.CREDENTIAL_EXPIRED))
                confirmed = False
            findings += self._credential_findings(v, t)
            findings += self._fingerprint_findings(v, fingerprint, now)
        decision, reason = decide(failures, findings, confirmed, self.settings.identity_auto_reject_findings,
                                  self.settings.identity_auto_approve)
        codes = [f.code.value for f in findings]
        # Each reason once, the decision's last (a rejecting finding moves to the end; record_outcome keeps it).
        reasons = [r for r in [*failures, *codes, *(["REGISTRY_CONFIRMED"] if confirmed else [])] if r != reason]
        reasons.append(reason)
        self.store.update_verification(
            verification_id, reasons=reasons, fields={"findings": [f.model_dump() for f in findings]},
            audit=AuditEvent(at=now, step="document_checked", detail={
                "decision": decision.value, "failures": failures, "findings": codes, "registry_confirmed": confirmed,
                "fingerprint": fingerprint.kind if fingerprint else None}))
        return {"decision": decision.value, "reason": reason, "reasons": reasons,
                "findings": [f.model_dump(mode="json") for f in findings],
                "valid_until": valid_until.isoformat() if confirmed and valid_until else None}

    def _file_checks(self, v: Verification, t: IdentityType) -> tuple[list[str], bytes | None]:
        """What is wrong with the file itself (each rejects), and its bytes when it is there."""
        assert self.documents is not None
        doc = v.document
        head = self.documents.head(doc.key) if doc and doc.submitted_at else None
        if doc is None or head is None:
            return ["DOCUMENT_MISSING"], None
        failures: list[str] = []
        size, stored_type = head
        data = None
        if not 0 < size <= self.settings.identity_max_document_bytes:
            failures.append("DOCUMENT_SIZE_OUT_OF_RANGE")
        if doc.content_type not in ALLOWED_DOCUMENT_TYPES or stored_type.split(";")[0] != doc.content_type:
            failures.append("DOCUMENT_TYPE_NOT_ALLOWED")
        elif not failures:
            data = self.documents.read(doc.key, self.settings.identity_max_document_bytes)
            if len(data) > self.settings.identity_max_document_bytes:
                failures.append("DOCUMENT_SIZE_OUT_OF_RANGE")
            elif not data.startswith(MAGIC[doc.content_type]):
                failures.append("DOCUMENT_CONTENT_NOT_" + doc.content_type.split("/")[1].upper())
        if normalize(doc.credential_number) != normalize(v.claimed[t.credential_field]):
            failures.append("CREDENTIAL_NUMBER_MISMATCH")
        return failures, data

    def _registry_answer(self, v: Verification, t: IdentityType, now: datetime) -> RegistryAnswer:
        """The registry asked again, by the credential's institution and number (the key fields only)."""
        if self.registry is None:
            return RegistryAnswer(findings=[finding(FindingCode.REGISTRY_UNAVAILABLE)], confirmed=False)
        try:
            record = self.registry.lookup(t, v.claimed)
        except RegistryUnavailable:  # the adapter already retried; a person checks instead of the registry
            return RegistryAnswer(findings=[finding(FindingCode.REGISTRY_UNAVAILABLE)], confirmed=False)
        return registry_answer(t, v.claimed, record, now.date())

    def _credential_findings(self, v: Verification, t: IdentityType) -> list[Finding]:
        assert self.credential_keys is not None
        holder = self.store.credential_holder(self.credential_keys.key_for(t, v.claimed))
        if holder is None or holder.user_id == v.user_id:
            return []
        return [finding(FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT, [holder.verification_id])]

    def _fingerprint_findings(self, v: Verification, fingerprint: Fingerprint, now: datetime) -> list[Finding]:
        """Index this submission, then look for near-identical ones that other accounts submitted before this
        account first did. Writing before reading means that of two accounts submitting the same document at
        once, at least one sees the other."""
        keys = imagehash.index_keys(fingerprint)
        self.store.index_fingerprint(FingerprintEntry(fingerprint=fingerprint, verification_id=v.verification_id,
                                                      user_id=v.user_id, submitted_at=now), keys)
        since = now - timedelta(days=self.settings.identity_image_index_days)
        entries, truncated = self.store.fingerprints_under(keys, since, self.settings.identity_image_max_candidates)
        limit = self.settings.identity_image_match_max_distance if fingerprint.kind == "phash256" else 0
        same = [e for e in entries if (d := imagehash.distance(fingerprint, e.fingerprint)) is not None and d <= limit]
        # The first account to submit an image keeps it: another account's copy is flagged, and so is the first
        # account's resubmission only if someone else had it before that account's first one.
        first_own = min((e.submitted_at for e in same if e.user_id == v.user_id), default=now)
        reused = [e.verification_id for e in same if e.user_id != v.user_id and e.submitted_at <= first_own]
        found = [finding(FindingCode.DOCUMENT_IMAGE_REUSED, reused)] if reused else []
        if truncated:
            found.append(finding(FindingCode.DOCUMENT_IMAGE_CHECK_INCOMPLETE))
        return found

    def open_review(self, verification_id: str, task_token: str, checks: list[str],
                    findings: list[Finding] | None = None) -> dict[str, Any]:
        v = self._load(verification_id)
        review_id = v.review_id or "rv_" + verification_id.removeprefix("iv_")
        now = self.clock()
        self.store.open_review(Review(review_id=review_id, verification_id=verification_id, user_id=v.user_id,
                                      identity_type=v.identity_type, status=ReviewStatus.OPEN, created_at=now,
                                      checks=checks, findings=findings or []), task_token)
        self.store.update_verification(
            verification_id, expect={Status.AWAITING_DOCUMENT, Status.IN_REVIEW}, status=Status.IN_REVIEW,
            fields={"review_id": review_id}, path=[] if v.review_id else ["review"],
            audit=AuditEvent(at=now, step="review_opened", detail={"review_id": review_id}))
        return {"review_id": review_id}

    def record_outcome(self, verification_id: str, status: Status, reason: str, detail: str | None = None,
                       valid_until: str | None = None) -> dict[str, Any]:
        v = self._load(verification_id)
        if v.status in FINAL:  # a retried step: the outcome is already recorded
            return {"status": v.status.value}
        t = identity_type(v.identity_type)
        now = self.clock()
        fields: dict[str, Any] = {}
        tag = holder = None
        if status is Status.VERIFIED:
            until = date.fromisoformat(valid_until) if valid_until else self._document_validity(v, t, now)
            fields["valid_until"] = until
            tag = IdentityTag(user_id=v.user_id, identity_type=v.identity_type, verification_id=verification_id,
                              path=v.path, valid_from=now.date(), valid_until=until, verified_at=now)
            assert self.credential_keys is not None
            holder = CredentialHolder(credential_key=self.credential_keys.key_for(t, v.claimed), user_id=v.user_id,
                                      identity_type=v.identity_type, verification_id=verification_id,
                                      verified_at=now)
        reasons = _not_yet_recorded(v, [reason])  # e.g. REGISTRY_MATCH is already recorded by the registry step
        if detail:
            reasons.append(f"REVIEWER_NOTE: {detail[:200]}")
        try:
            self.store.record_outcome(verification_id, status, fields, reasons,
                                      AuditEvent(at=now, step="outcome", detail={"status": status.value,
                                                                                 "reason": reason}), tag, holder)
        except CredentialHeldElsewhere as exc:
            # Another account's verification of this credential committed first (two reviews approved at once,
            # or the registry path after another account's review): the write's condition refused this one.
            held = finding(FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT,
                           [x for x in [exc.details.get("verification_id")] if x])
            code = FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT.value
            self.store.record_outcome(
                verification_id, Status.REJECTED, {"findings": [f.model_dump() for f in [*v.findings, held]]},
                [*reasons, code], AuditEvent(at=now, step="outcome", detail={
                    "status": Status.REJECTED.value, "reason": code, "refused": status.value}), None)
            status = Status.REJECTED
        if status is Status.EXPIRED and v.review_id:
            with contextlib.suppress(ReviewClosed):  # decided just before the timeout: keep the decision
                self.store.close_review(v.review_id, ReviewStatus.EXPIRED, {"reason": reason})
        return {"status": status.value}

    def _document_validity(self, v: Verification, t: IdentityType, now: datetime) -> date:
        """A tag from a reviewed document: the type's validity, or less if the credential says it ends sooner."""
        until = now.date() + timedelta(days=t.document_validity_days)
        if v.document and v.document.valid_until and v.document.valid_until < until:
            return v.document.valid_until
        return until

def _not_yet_recorded(v: Verification, reasons: list[str]) -> list[str]:
    """The reasons the verification does not carry yet: each reason is recorded once (the score step records
    SCORE_AT_OR_BELOW_THRESHOLD, and the document wait it leads to must not record it again)."""
    return [r for r in dict.fromkeys(reasons) if r not in v.reasons]


def _verification_id(user_id: str, request_key: str | None) -> str:
    """``iv_`` + 32 hex: derived from (user, Idempotency-Key) when there is one, random otherwise."""
    if request_key is None:
        return new_id("iv")
    return "iv_" + hashlib.sha256(f"{user_id}\x1f{request_key}".encode()).hexdigest()[:32]
