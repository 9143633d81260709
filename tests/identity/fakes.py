"""In-memory fakes of the identity ports (store, documents, workflow, predictor, registry)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.identity.catalog import IdentityType
from shared.identity.checks import credential_identity
from shared.identity.errors import (
    ConcurrentAttempt,
    CredentialHeldElsewhere,
    InvalidTransition,
    RegistryUnavailable,
    ReviewClosed,
    TaskExpired,
)
from shared.identity.models import (
    FINAL,
    AuditEvent,
    CredentialHolder,
    FingerprintEntry,
    IdentityTag,
    RegistryRecord,
    Review,
    ReviewStatus,
    Status,
    Verification,
)
from shared.identity.predictor import Prediction
from shared.signals.models import ActivityProfile


class FakeStore:
    def __init__(self) -> None:
        self.verifications: dict[str, dict[str, Any]] = {}
        self.latest: dict[tuple[str, str], str] = {}
        self.tags: dict[tuple[str, str], IdentityTag] = {}
        self.reviews: dict[str, tuple[Review, str | None]] = {}
        self.holders: dict[str, CredentialHolder] = {}
        self.fingerprints: dict[str, list[FingerprintEntry]] = {}

    def create_verification(self, v: Verification, previous_id: str | None) -> None:
        if self.latest.get((v.user_id, v.identity_type)) != previous_id:
            raise ConcurrentAttempt()
        self.verifications[v.verification_id] = {"v": v, "token": None}
        self.latest[(v.user_id, v.identity_type)] = v.verification_id

    def get_verification(self, verification_id: str) -> tuple[Verification, dict[str, Any]] | None:
        row = self.verifications.get(verification_id)
        return (row["v"], {"document_task_token": row["token"]}) if row else None

    def latest_verification_id(self, user_id: str, identity_type: str) -> str | None:
        return self.latest.get((user_id, identity_type))

    def update_verification(self, verification_id: str, *, audit: AuditEvent, expect: Iterable[Status] | None = None,
                            status: Status | None = None, fields: Mapping[str, Any] | None = None,
                            path: list[str] | None = None, reasons: list[str] | None = None,
                            remove: Iterable[str] = (), require: Mapping[str, Any] | None = None) -> Verification:
        row = self.verifications.get(verification_id)
        if row is None or (expect is not None and row["v"].status not in set(expect)):
            raise InvalidTransition()
        if require and any(row["token"] != value for value in require.values()):
            raise InvalidTransition()
        data = dict(fields or {})
        if "document_task_token" in data:
            row["token"] = data.pop("document_task_token")
        if "document_task_token" in remove:
            row["token"] = None
        v: Verification = row["v"]
        update: dict[str, Any] = {**data, "audit": [*v.audit, audit], "updated_at": audit.at,
                                  "path": v.path + (path or []), "reasons": v.reasons + (reasons or [])}
        if status is not None:
            update["status"] = status
        row["v"] = Verification.model_validate({**v.model_dump(), **update})
        return row["v"]  # type: ignore[no-any-return]

    def record_outcome(self, verification_id: str, status: Status, fields: Mapping[str, Any], reasons: list[str],
                       audit: AuditEvent, tag: IdentityTag | None, holder: CredentialHolder | None = None) -> None:
        v = self.verifications[verification_id]["v"]
        if v.status in FINAL:
            raise InvalidTransition()
        held = self.holders.get(holder.credential_key) if holder else None
        if held is not None and holder is not None and held.user_id != holder.user_id:
            raise CredentialHeldElsewhere(verification_id=held.verification_id)
        self.update_verification(verification_id, audit=audit, status=status, fields=fields, reasons=reasons,
                                 remove=["document_task_token"])
        if tag:
            self.tags[(tag.user_id, tag.identity_type)] = tag
        if holder:
            self.holders[holder.credential_key] = holder

    def credential_holder(self, credential_key: str) -> CredentialHolder | None:
        return self.holders.get(credential_key)

    def index_fingerprint(self, entry: FingerprintEntry, keys: list[str]) -> None:
        for key in keys:
            entries = self.fingerprints.setdefault(key, [])
            if all(e.verification_id != entry.verification_id for e in entries):
                entries.append(entry)

    def fingerprints_under(self, keys: list[str], since: datetime, limit: int) -> tuple[list[FingerprintEntry], bool]:
        read = [e for key in keys for e in sorted(self.fingerprints.get(key, []), key=lambda e: e.submitted_at)
                if e.submitted_at >= since]
        unique = {e.verification_id: e for e in read[:limit]}
        return list(unique.values()), len(read) > limit

    def list_tags(self, user_id: str) -> list[IdentityTag]:
        return [t for (u, _), t in self.tags.items() if u == user_id]

    def open_review(self, review: Review, task_token: str) -> None:
        current = self.reviews.get(review.review_id)
        if current and current[0].status is not ReviewStatus.OPEN:
            raise ReviewClosed()
        self.reviews[review.review_id] = (review, task_token)

    def get_review(self, review_id: str) -> tuple[Review, str | None] | None:
        return self.reviews.get(review_id)

    def close_review(self, review_id: str, status: ReviewStatus, fields: Mapping[str, Any],
                     expect: ReviewStatus = ReviewStatus.OPEN, keep_token: bool = False) -> Review:
        review, token = self.reviews[review_id]
        if review.status is not expect:
            raise ReviewClosed()
        closed = Review.model_validate({**review.model_dump(), **fields, "status": status})
        self.reviews[review_id] = (closed, token if keep_token else None)
        return closed

    def forget_review_token(self, review_id: str, token: str) -> None:
        review, kept = self.reviews[review_id]
        if kept == token:
            self.reviews[review_id] = (review, None)

    def list_open_reviews(self, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
        return [r for r, _ in self.reviews.values() if r.status is ReviewStatus.OPEN][:limit], None


class FakeWorkflow:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.expired_tokens: set[str] = set()

    def start(self, name: str, payload: str) -> str:
        self.started.append((name, json.loads(payload)))
        return f"arn:aws:states:us-east-1:123456789012:execution:fake:{name}"

    def resume(self, task_token: str, output: str) -> None:
        if task_token in self.expired_tokens:
            raise TaskExpired(task_token)
        self.resumed.append((task_token, json.loads(output)))


class FakeDocuments:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]:
        return {"url": "https://uploads.example/bucket", "fields": {"key": key, "Content-Type": content_type}}

    def head(self, key: str) -> tuple[int, str] | None:
        obj = self.objects.get(key)
        return (len(obj[0]), obj[1]) if obj else None

    def read(self, key: str, max_bytes: int) -> bytes:
        return self.objects[key][0][: max_bytes + 1]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def presigned_get(self, key: str, expires: int) -> str:
        return f"https://downloads.example/{key}"


class FakePredictor:
    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.calls: list[tuple[str, Sequence[float]]] = []

    def predict(self, model: str, features: Sequence[float]) -> Prediction:
        self.calls.append((model, features))
        return Prediction(probability=self.probability, model_version=f"{model}-fake-1")


class FakeCredentialKeys:
    """Keys without a secret: the canonical credential text itself (the rule under test is the index's)."""

    def key_for(self, identity_type: IdentityType, fields: Mapping[str, str]) -> str:
        return credential_identity(identity_type, fields)


class FakeRegistry:
    def __init__(self, record: RegistryRecord | None = None, down: bool = False) -> None:
        self.record = record
        self.down = down

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None:
        if self.down:
            raise RegistryUnavailable("fake outage")
        return self.record


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSignals:
    """The ``SignalsReader`` part the scoring step uses: profiles by user, empty for a user with no history."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.profiles: dict[str, ActivityProfile] = {}

    def profile(self, user_id: str) -> ActivityProfile:
        now = self.clock()
        return self.profiles.get(user_id) or ActivityProfile(user_id=user_id, as_of=now, today=now.date())
