"""The real-name session flow (SPEC §5, CN112836612A): a session state machine in DynamoDB with conditional
transitions (docs/decision_log.md: why not a Step Functions task token).

``create``: lockout -> image quality (4xx) -> liveness (``REJECTED``) -> risk and trust under the policy ->
    pass: 1:N over the request's candidate identities (phone, bound cards' holders, contacts) ->
    ``AWAITING_CONFIRMATION`` with the proposed identity masked, or ``AWAITING_IDENTITY`` (no confident match);
    fail: ``AWAITING_IDENTITY`` with the fields the risk found demands.
``confirm``: confirmed -> 1:1 against the proposed identity's authoritative photo -> ``VERIFIED`` (the put-once
    identity claim and the account's real-name record in the same transaction); denied or mismatch ->
    ``AWAITING_IDENTITY``.
``submit_identity``: the typed identity (GB 11643-valid, name when required) -> 1:1 against that identity's
    authoritative photo -> ``VERIFIED`` or ``FAILED``.

Failed attempts (liveness rejected, face mismatch, typed identity mismatch) count per user and per device.
The selfie is never stored: the session keeps its embedding envelope-encrypted (the 1:1 steps need it), and
the recent-faces index keeps another sealed copy for the policy's batch-face window only.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from shared.face.challenges import LivenessService
from shared.face.encoding import embedding_from_bytes, embedding_to_bytes
from shared.face.models import FaceAnalysis, MatchResult
from shared.identity_numbers import birth_date, mask_id_number
from shared.observability import logger, metrics
from shared.realname.errors import (
    AlreadyVerified,
    IdentityInUse,
    MissingIdentityField,
    SessionExpired,
    SessionNotAwaiting,
    SessionNotFound,
)
from shared.realname.models import (
    AuditEvent,
    AuthorityIdentity,
    IdentityField,
    ProposedIdentity,
    RealNameSession,
    RequestContext,
    SessionStatus,
    VerifiedIdentity,
)
from shared.realname.policy import Policy
from shared.realname.ports import (
    IdentityAuthority,
    PolicySource,
    PresetIdentitySources,
    ProfileWriter,
    RealNameRecords,
    RecentFaces,
    ReferenceFaces,
    RiskSignals,
    Sealer,
    SessionStore,
)
from shared.realname.risk import assess
from shared.realname.services.directory import RealNameDirectory, mask_name, normalize_name
from shared.realname.services.lockout import Lockout
from shared.signals.models import RealName

if TYPE_CHECKING:
    from shared.face.service import FaceService

Clock = Callable[[], datetime]


def _probe_context(session_id: str) -> dict[str, str]:
    return {"kind": "realname-probe", "session": session_id}


def _recent_context(user_id: str) -> dict[str, str]:
    return {"kind": "recent-face", "user": user_id}


class _Replay(Exception):
    """The session's last transition was this request's (a retry after a crash past its commit)."""

    def __init__(self, session: RealNameSession, sealed: str) -> None:
        super().__init__("replay")
        self.session = session
        self.sealed = sealed


class ReferenceEmbeddings:
    """Authoritative photos -> embeddings by the same pipeline, cached per container by photo digest."""

    def __init__(self, faces: FaceService, max_entries: int = 4096) -> None:
        self.faces = faces
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, ...] | None] = {}
        self._lock = threading.Lock()

    def of(self, identity: AuthorityIdentity) -> tuple[float, ...] | None:
        """The embedding of the identity's photo, or None if the photo has no usable face (recorded)."""
        digest = hashlib.sha256(identity.photo).hexdigest()
        with self._lock:
            if digest in self._cache:
                return self._cache[digest]
        from shared.face.errors import FaceQualityError, ImageTooLarge, NotAnImage

        try:
            embedding: tuple[float, ...] | None = self.faces.analyze_selfie(identity.photo).embedding
        except (FaceQualityError, NotAnImage, ImageTooLarge):
            embedding = None
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[digest] = embedding
        return embedding


class RealNameSessionService:
    def __init__(self, *, faces: FaceService, liveness: LivenessService, policy: PolicySource, signals: RiskSignals,
                 authority: IdentityAuthority, sources: PresetIdentitySources, sealer: Sealer,
                 directory: RealNameDirectory, sessions: SessionStore, records: RealNameRecords,
                 recent: RecentFaces, lockout: Lockout, profiles: ProfileWriter, clock: Clock,
                 reference_faces: ReferenceFaces | None = None) -> None:
        self.faces = faces
        self.liveness = liveness
        self.policy = policy
        self.signals = signals
        self.authority = authority
        self.sources = sources
        self.sealer = sealer
        self.directory = directory
        self.sessions = sessions
        self.records = records
        self.recent = recent
        self.lockout = lockout
        self.profiles = profiles
        self.clock = clock
        self.references = ReferenceEmbeddings(faces)
        self.reference_faces = reference_faces

    # --- create -----------------------------------------------------------------------------------------
    def create(self, user_id: str, context: RequestContext, selfie: bytes, challenge_id: str,
               frames: Sequence[bytes], request: str | None = None) -> RealNameSession:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``). The session id derives from
        it, so the same request retried after a crash answers the session it created (or, if it died before,
        uses the challenge it consumed again and creates it)."""
        policy = self.policy.current()
        session_id = "rn_" + (request or uuid.uuid4().hex)
        found = self.sessions.get(session_id) if request is not None else None
        if found is not None and found[0].user_id == user_id:
            return found[0]
        if self.records.get(user_id) is not None:
            raise AlreadyVerified()
        self.lockout.check(user_id, context.device_id, self.clock())
        outcome = self.liveness.check(user_id, challenge_id, frames, selfie, request)  # 4xx gates; consumes it
        now = self.clock()
        sealed = self.sealer.encrypt(embedding_to_bytes(outcome.selfie.embedding), _probe_context(session_id))
        base = RealNameSession(session_id=session_id, user_id=user_id, device_id=context.device_id,
                               status=SessionStatus.REJECTED, created_at=now, updated_at=now,
                               expires_at=now + timedelta(seconds=policy.session_ttl_seconds),
                               challenge_id=challenge_id, model_version=outcome.selfie.model_version)
        if not outcome.result.passed:  # counted once per session (its id derives from the request)
            self.lockout.failed(user_id, context.device_id, now, policy, f"{session_id}:liveness")
            self.signals.record_attempt(user_id, context, session_id)
            session = base.model_copy(update={
                "reasons": ("LIVENESS_FAILED", *outcome.result.reasons),
                "audit": (AuditEvent(at=now, step="liveness_rejected",
                                     detail={"reasons": list(outcome.result.reasons)}),)})
            self.sessions.create(session, sealed)
            return session
        same_face = self._same_face_accounts(outcome.selfie, user_id, now, policy)
        self.recent.add(user_id, session_id, self.sealer.encrypt(embedding_to_bytes(outcome.selfie.embedding),
                                                                 _recent_context(user_id)),
                        now, timedelta(seconds=policy.risk.batch_face_window_seconds))
        assessment = assess(self.signals.snapshot(user_id, context, policy), same_face, policy)
        # after the snapshot: it counts the attempts before this one; once per session (a retry after a crash)
        self.signals.record_attempt(user_id, context, session_id)
        audit = [AuditEvent(at=now, step="liveness_passed"),
                 AuditEvent(at=now, step="assessed", detail={
                     "policy_version": policy.version, "mode": policy.mode.value, "passed": assessment.passed,
                     "risk": [f.model_dump() for f in assessment.risk],
                     "trust": [f.model_dump() for f in assessment.trust],
                     "signals": assessment.signals_source})]
        reasons = list(assessment.reasons)
        proposed = None
        fields = assessment.required_fields
        if assessment.passed:
            proposed, search_detail = self._propose(user_id, outcome.selfie, policy)
            audit.append(AuditEvent(at=now, step="matched_1_to_n", detail=search_detail))
            if proposed is None:
                reasons.append("NO_CONFIDENT_MATCH")
                fields = policy.required_fields.default
        session = base.model_copy(update={
            "status": SessionStatus.AWAITING_CONFIRMATION if proposed else SessionStatus.AWAITING_IDENTITY,
            "assessment": assessment, "proposed": proposed, "required_fields": () if proposed else fields,
            "reasons": tuple(reasons), "audit": tuple(audit)})
        self.sessions.create(session, sealed)
        return session

    def _same_face_accounts(self, probe: FaceAnalysis, user_id: str, now: datetime, policy: Policy) -> int:
        """Distinct *other* accounts whose recent attempts (within the window) show this face."""
        window = timedelta(seconds=policy.risk.batch_face_window_seconds)
        recent = [r for r in self.recent.since(now - window, policy.risk.batch_face_max_scanned)
                  if r.user_id != user_id]
        if not recent:
            return 0
        matrix = np.asarray([embedding_from_bytes(self.sealer.decrypt(r.sealed, _recent_context(r.user_id)))
                             for r in recent], dtype=np.float32)
        scores = matrix @ np.asarray(probe.embedding, dtype=np.float32)
        return len({r.user_id for r, s in zip(recent, scores, strict=True)
                    if float(s) >= policy.risk.batch_face_similarity})

    def _candidates(self, user_id: str, policy: Policy) -> tuple[list[str], dict[str, int]]:
        """The preset identity set of the request: identities linked to the account's phone, the holders of its
        bound cards and the identities linked to its contacts' phones (in that order of preference when the set
        is cut at ``max_identities``), and how many each source gave."""
        by_source: dict[str, list[str]] = {"phone": [], "cards": [], "contacts": []}
        phone = self.sources.phone_of(user_id)
        if phone:
            by_source["phone"] = self.authority.by_phone(phone)
        for id_number in self.sources.card_holder_id_numbers(user_id):
            holder = self.authority.by_id_number(id_number)
            by_source["cards"] += [holder.identity_ref] if holder else []
        for contact in self.sources.contact_phones(user_id, policy.candidates.max_contacts):
            by_source["contacts"] += self.authority.by_phone(contact)
        refs = list(dict.fromkeys(r for source in by_source.values() for r in source))
        return refs[:policy.candidates.max_identities], {k: len(v) for k, v in by_source.items()}

    def _propose(self, user_id: str, probe: FaceAnalysis, policy: Policy
                 ) -> tuple[ProposedIdentity | None, dict[str, object]]:
        refs, sources = self._candidates(user_id, policy)
        identities = {ref: ident for ref in refs if (ident := self.authority.get(ref)) is not None}
        rows = [(ref, emb) for ref, ident in identities.items() if (emb := self.references.of(ident)) is not None]
        if not rows:
            return None, {"candidates": len(refs), "sources": sources, "reasons": ["NO_CANDIDATES"]}
        result = self.faces.search(probe, np.asarray([e for _, e in rows], dtype=np.float32), [r for r, _ in rows])
        detail: dict[str, object] = {"candidates": result.candidates, "sources": sources,
                                     "reasons": list(result.reasons),
                                     "best_similarity": result.best_similarity,
                                     "second_similarity": result.second_similarity,
                                     "threshold": result.threshold, "margin": result.margin,
                                     "model_version": result.model_version}
        if result.candidate_id is None:
            return None, detail
        ident = identities[result.candidate_id]
        return ProposedIdentity(identity_ref=ident.identity_ref, masked_name=mask_name(ident.name),
                                masked_id_number=mask_id_number(ident.id_number),
                                similarity=float(result.best_similarity or 0.0),
                                second_similarity=result.second_similarity), detail

    # --- reads ------------------------------------------------------------------------------------------
    def _load(self, user_id: str, session_id: str) -> tuple[RealNameSession, str]:
        found = self.sessions.get(session_id)
        if found is None or found[0].user_id != user_id:  # another user's id is indistinguishable from none
            raise SessionNotFound(session_id=session_id[:80])
        return found

    def get(self, user_id: str, session_id: str) -> RealNameSession:
        return self._load(user_id, session_id)[0].as_of(self.clock())

    def _open(self, user_id: str, session_id: str, status: SessionStatus,
              request: str | None = None) -> tuple[RealNameSession, str]:
        session, sealed = self._load(user_id, session_id)
        if request is not None and session.last_request == request:
            raise _Replay(session, sealed)  # this request's transition committed: answer what it left
        now = self.clock()
        if session.is_expired(now):
            raise SessionExpired(session_id=session_id)
        if session.status is not status:
            raise SessionNotAwaiting(status=session.status.value, expected=status.value)
        self.lockout.check(user_id, session.device_id, now)
        return session, sealed

    def _probe(self, session: RealNameSession, sealed: str) -> tuple[float, ...]:
        return embedding_from_bytes(self.sealer.decrypt(sealed, _probe_context(session.session_id)))

    def _match(self, probe: tuple[float, ...], identity: AuthorityIdentity | None) -> MatchResult | None:
        reference = self.references.of(identity) if identity else None
        return self.faces.verify(probe, reference) if reference is not None else None

    # --- confirmation -----------------------------------------------------------------------------------
    def _replayed(self, replay: _Replay) -> RealNameSession:
        """The session a retried request left; a verification's reference face is enrolled again (a crash
        between the verification's commit and the enrolment left none)."""
        if replay.session.status is SessionStatus.VERIFIED:
            self._enrol_reference(replay.session, self._probe(replay.session, replay.sealed))
        return replay.session

    def confirm(self, user_id: str, session_id: str, confirmed: bool, request: str | None = None
                ) -> RealNameSession:
        """``request``: the request's tag; the same request again after its transition committed answers the
        session it left (a retry after a crash), any other finds the session no longer awaiting."""
        try:
            session, sealed = self._open(user_id, session_id, SessionStatus.AWAITING_CONFIRMATION, request)
        except _Replay as replay:
            return self._replayed(replay)
        session = session.model_copy(update={"last_request": request})
        policy = self.policy.current()
        now = self.clock()
        assert session.proposed is not None
        if not confirmed:
            return self._ask_identity(session, now, policy.fields_on_denied(), "USER_DENIED_PROPOSAL",
                                      AuditEvent(at=now, step="proposal_denied"))
        identity = self.authority.get(session.proposed.identity_ref)
        probe = self._probe(session, sealed)
        match = self._match(probe, identity)
        event = AuditEvent(at=now, step="confirmed_1_to_1", detail=match.model_dump() if match else {})
        if identity is None or match is None or not match.matched:
            self.lockout.failed(user_id, session.device_id, now, policy, f"{session.session_id}:confirmation")
            return self._ask_identity(session, now, policy.fields_on_denied(), "CONFIRMED_FACE_MISMATCH", event)
        return self._verify(session, identity, now, "CONFIRMED_PROPOSAL", event, policy, probe)

    def _ask_identity(self, session: RealNameSession, now: datetime, fields: tuple[IdentityField, ...],
                      reason: str, event: AuditEvent) -> RealNameSession:
        updated = session.model_copy(update={"status": SessionStatus.AWAITING_IDENTITY, "required_fields": fields,
                                             "updated_at": now, "reasons": (*session.reasons, reason),
                                             "audit": (*session.audit, event)})
        self.sessions.transition(updated, session, now)
        return updated

    def _verify(self, session: RealNameSession, identity: AuthorityIdentity, now: datetime, method: str,
                event: AuditEvent, policy: Policy, probe: tuple[float, ...]) -> RealNameSession:
        verified = VerifiedIdentity(
            user_id=session.user_id, id_hash=self.directory.id_hash(identity.id_number),
            name_hash=self.directory.name_hash(identity.name), masked_name=mask_name(identity.name),
            masked_id_number=mask_id_number(identity.id_number), verified_at=now, session_id=session.session_id,
            method=method, policy_version=session.assessment.policy_version if session.assessment else policy.version)
        updated = session.model_copy(update={"status": SessionStatus.VERIFIED, "updated_at": now,
                                             "verified_identity": verified, "required_fields": (),
                                             "reasons": (*session.reasons, f"VERIFIED_{method}"),
                                             "audit": (*session.audit, event)})
        profile = RealName(status="VERIFIED", verified_at=now, birth_date=birth_date(identity.id_number),
                           method=method)
        try:
            self.sessions.verify(updated, session, verified, self._sealed_id(identity, session.user_id), now,
                                 also=[self.profiles.real_name_write(session.user_id, profile)])
        except IdentityInUse:
            failed = session.model_copy(update={
                "status": SessionStatus.FAILED, "updated_at": now, "required_fields": (),
                "reasons": (*session.reasons, "IDENTITY_VERIFIED_ON_ANOTHER_ACCOUNT"),
                "audit": (*session.audit, event)})
            self.sessions.transition(failed, session, now)
            return failed
        self.lockout.succeeded(session.user_id, session.device_id)
        self._enrol_reference(session, probe)
        return updated

    def _enrol_reference(self, session: RealNameSession, probe: tuple[float, ...]) -> None:
        """The live face that passed liveness and matched the identity's authoritative photo becomes the user's
        reference face (§4's FACE method). After the verification committed: a failure here is logged and
        counted, the user can still enrol with ``PUT /me/face``."""
        if self.reference_faces is None:
            return
        try:
            self.reference_faces.enrol_verified(session.user_id, probe, self.faces.models.version,
                                                session.session_id)
        except Exception as exc:  # noqa: BLE001 - any storage or KMS error of the face capability
            logger.warning("reference face not enrolled after real-name verification",
                           extra={"error": type(exc).__name__})
            metrics.add_metric(name="RealNameReferenceFaceFailed", unit="Count", value=1)

    def _sealed_id(self, identity: AuthorityIdentity, user_id: str) -> str:
        return self.sealer.encrypt(identity.id_number.encode(), {"kind": "realname-id-number", "user": user_id})

    # --- typed identity ---------------------------------------------------------------------------------
    def submit_identity(self, user_id: str, session_id: str, id_number: str, name: str | None,
                        request: str | None = None) -> RealNameSession:
        """``request``: as for ``confirm``."""
        try:
            session, sealed = self._open(user_id, session_id, SessionStatus.AWAITING_IDENTITY, request)
        except _Replay as replay:
            return self._replayed(replay)
        session = session.model_copy(update={"last_request": request})
        if IdentityField.NAME in session.required_fields and not name:
            raise MissingIdentityField("This session requires the name as well as the ID number.",
                                       field="name")
        policy = self.policy.current()
        now = self.clock()
        identity = self.authority.by_id_number(id_number)
        reason = None
        match = None
        probe: tuple[float, ...] = ()
        if identity is None:
            reason = "IDENTITY_NOT_FOUND"
        elif name and normalize_name(name) != normalize_name(identity.name):
            reason = "NAME_MISMATCH"
        else:
            probe = self._probe(session, sealed)
            match = self._match(probe, identity)
            if match is None or not match.matched:
                reason = "TYPED_IDENTITY_FACE_MISMATCH"
        event = AuditEvent(at=now, step="typed_1_to_1", detail={"reason": reason, **(match.model_dump() if match
                                                                                      else {})})
        if reason is not None or identity is None:
            self.lockout.failed(user_id, session.device_id, now, policy, f"{session.session_id}:identity")
            failed = session.model_copy(update={"status": SessionStatus.FAILED, "updated_at": now,
                                                "required_fields": (), "reasons": (*session.reasons, str(reason)),
                                                "audit": (*session.audit, event)})
            self.sessions.transition(failed, session, now)
            return failed
        return self._verify(session, identity, now, "TYPED_IDENTITY", event, policy, probe)
