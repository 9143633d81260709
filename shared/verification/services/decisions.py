"""Triggers: decide (verification-free, challenge or deny), record the decision with its reasons, and for a
verification-free payment return the token the protected call needs. Also the sign-in decision the sessions
service asks for, and the audit views."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.crypto import VERIFICATION_TOKEN, new_token
from shared.errors import AlreadyExists, IdempotencyKeyReused
from shared.observability import logger
from shared.signals.models import SignInAttempt, SignInDecision
from shared.verification.decision import decide
from shared.verification.errors import ExemptionExhausted
from shared.verification.features import build_features, session_stats
from shared.verification.models import (
    Decision,
    FaceEvidence,
    Feasibility,
    Geo,
    History,
    IssuedToken,
    Method,
    NetworkType,
    Operation,
    Outcome,
    Profile,
    Status,
    TokenGrant,
    TriggerContext,
    Verification,
    new_id,
)
from shared.verification.ports import VerificationStore
from shared.verification.risk import Context, ip_prefix
from shared.verification.services.base import STALE_RETRIES, VerificationBase
from shared.writes import GuardedWrite

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

TOKEN_FREE_OPERATIONS = frozenset({Operation.PAYMENT})  # LOGIN and BINDING_FIRST_USE take effect by themselves


class DecisionService(VerificationBase):
    def trigger(self, owner: str, operation: Operation, ctx: TriggerContext, face_image: bytes | None = None,
                idempotency_key: str | None = None) -> tuple[Verification, IssuedToken | None]:
        """Decide and record. A verification-free PAYMENT returns a token bound to its amount and payee.

        With the request's ``idempotency_key`` the verification id is derived from it (``trigger_id``), so the
        record's put-once condition makes a retry after a crash past the commit find the first decision instead
        of recording a second one: it answers that decision (without a token: the first one's secret is stored
        only hashed, and a second token for one verification-free payment would pay it twice)."""
        face = self.deps.face.compare(owner, face_image) if face_image is not None else None
        verification_id = trigger_id(owner, idempotency_key) if idempotency_key else None
        for _ in range(STALE_RETRIES):
            policy, now = self.policy(), self.now()
            history = self.store.history(owner)
            self.check_lockout(history, now, policy)
            outcome = self.outcome(owner, operation, ctx, policy, history, face)
            verification = self.record(owner, operation, ctx, outcome, policy, verification_id=verification_id)
            writes = [self.store.w_put_verification(verification)]
            token = self._free_token(verification, policy, writes)
            if outcome.counts_exemption and ctx.amount is not None:
                writes.append(count_exemption(self.store, owner, history, outcome, ctx.amount.amount, policy))
            try:
                self.store.commit(writes)
            except ExemptionExhausted:
                continue  # a concurrent exempted payment used the room: decide again on the new counters
            except AlreadyExists:
                return self._recorded(owner, verification), None
            self.log_decision(verification)
            return verification, token
        raise ExemptionExhausted()

    def _recorded(self, owner: str, requested: Verification) -> Verification:
        """The decision a retried trigger recorded before (same owner, key and request), or 409 when the key
        was used for another trigger."""
        first = self.store.get(requested.verification_id)
        same = first is not None and first.owner == owner and (
            first.operation, first.amount, first.payee_account_id, first.device_id) == (
            requested.operation, requested.amount, requested.payee_account_id, requested.device_id)
        if first is None or not same:
            raise IdempotencyKeyReused(verification_id=requested.verification_id)
        logger.info("verification trigger retried: the recorded decision answers",
                    extra={"verification_id": first.verification_id})
        return first

    def decide_sign_in(self, attempt: SignInAttempt) -> SignInDecision:
        """The LOGIN decision of a sign-in from a new or untrusted device (the ``SignInDecider`` port the sessions
        service of risk signals calls for ``POST /sessions``), recorded like any trigger."""
        geo = Geo(lat=attempt.lat, lon=attempt.lon) if attempt.lat is not None and attempt.lon is not None else None
        ctx = TriggerContext(device_id=attempt.device_id, network=NetworkType(attempt.network.value), geo=geo,
                             session_id=attempt.session_id, header_device_id=attempt.device_id,
                             source_ip=attempt.source_ip)
        # keyed by the session id: a retried sign-in (same session) answers its first decision, recorded once
        v, _ = self.trigger(attempt.user_id, Operation.LOGIN, ctx, idempotency_key=attempt.session_id)
        o = v.outcome
        reasons = (*o.reasons, *o.risk.account.reasons, *o.risk.network.reasons)
        return SignInDecision(verification_id=v.verification_id, decision=o.decision.value,
                              strength=o.strength.value if o.strength else None,
                              methods=tuple(m.value for m in o.methods), reasons=tuple(dict.fromkeys(reasons)))

    def get(self, owner: str, verification_id: str) -> Verification:
        return self.owned(owner, verification_id)

    def audit(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Verification], str | None]:
        return self.store.list_by_owner(user_id, limit, cursor)

    # --- the engine, with its inputs resolved -------------------------------------------------------------
    def outcome(self, owner: str, operation: Operation, ctx: TriggerContext, policy: Policy, history: History,
                face: FaceEvidence | None = None) -> Outcome:
        now = self.now()
        profile = self.deps.profiles.profile(owner)
        ip = self.deps.ip_reputation.lookup(ctx.source_ip)
        c = Context(operation=operation, ctx=ctx, profile=profile, history=history, ip=ip, now=now)
        return decide(operation, c, policy, self.feasibility(operation, c, policy),
                      self.enrolled(owner, profile), face)

    def feasibility(self, operation: Operation, c: Context, policy: Policy) -> Feasibility | None:
        stats = session_stats(c.history, c.ctx, c.profile, c.now, policy.parameters.recent_days,
                              policy.parameters.failure_window_hours)
        features = build_features(operation, c.ctx, c.profile, stats, c.now, payee_known=c.payee_known,
                                  geo_distance_km=c.geo_distance_km, network_usual=c.network_usual,
                                  ip_prefix_known=c.ip_prefix_known, ip_risky=c.ip.risky)
        try:
            score, version = self.deps.model.predict(features)
        except (OSError, RuntimeError, ValueError) as exc:  # a missing model never exempts (fails closed)
            logger.warning("feasibility model unavailable", extra={"error": type(exc).__name__})
            return None
        return Feasibility(score=round(score, 6), threshold=policy.model.threshold, model_version=version,
                           features=tuple(round(f, 6) for f in features))

    def enrolled(self, owner: str, profile: Profile | None = None) -> set[Method]:
        """The methods the user can perform now: an exemption never stands in for enrolling one. The account's
        phone comes from ``profile`` when the caller read one (it carries the account's phone)."""
        methods: set[Method] = set()
        if profile is not None:
            phone = profile.phone
        else:
            account = self.deps.accounts.account(owner)
            phone = account.phone if account is not None else None
        if phone:
            methods.add(Method.SMS_OTP)
        password = self.store.password(owner)
        if password is not None and not (password.locked_until and password.locked_until > self.now()):
            methods.add(Method.PASSWORD)
        if self.deps.face.enrolled(owner):
            methods.add(Method.FACE)
        if self.deps.cards.holds_binding(owner):
            methods.add(Method.CARD)
        return methods

    def record(self, owner: str, operation: Operation, ctx: TriggerContext, outcome: Outcome, policy: Policy,
               purpose: str | None = None, verification_id: str | None = None) -> Verification:
        now = self.now()
        status = {Decision.VERIFICATION_FREE: Status.FREE, Decision.DENY: Status.DENIED,
                  Decision.CHALLENGE: Status.OPEN}[outcome.decision]
        return Verification(verification_id=verification_id or new_id("ver"), owner=owner, operation=operation,
                            session_id=ctx.session_id, device_id=ctx.device_id, ip_prefix=ip_prefix(ctx.source_ip),
                            network=ctx.network, geo=ctx.geo, amount=ctx.amount,
                            payee_account_id=ctx.payee_account_id, purpose=purpose, outcome=outcome, status=status,
                            max_tries=policy.challenge.max_tries, created_at=now,
                            expires_at=now + timedelta(seconds=policy.challenge.verification_ttl_seconds))

    def _free_token(self, v: Verification, policy: Policy, writes: list[GuardedWrite]) -> IssuedToken | None:
        if v.status is not Status.FREE or v.operation not in TOKEN_FREE_OPERATIONS:
            return None
        token, grant = issue_token(v, policy, self.now())
        writes.append(self.store.w_put_token(self.deps.hasher.keyed_hash(VERIFICATION_TOKEN, token.token), grant))
        return token

    @staticmethod
    def log_decision(v: Verification) -> None:
        o = v.outcome
        logger.info("verification decided", extra={
            "verification_id": v.verification_id, "operation": v.operation.value, "decision": o.decision.value,
            "methods": [m.value for m in o.methods], "exemption": o.exemption.rule if o.exemption else None,
            "account_risk": o.risk.account.score, "network_risk": o.risk.network.score,
            "policy_version": o.policy_version})


def trigger_id(owner: str, idempotency_key: str) -> str:
    """The verification id of a trigger made with ``idempotency_key``: SHA-256 of the owner and the key (ids are
    not secrets; another user's id is a 404), so a retried trigger puts the same record."""
    digest = hashlib.sha256(f"{owner}\x1f{idempotency_key}".encode()).hexdigest()[:32]
    return f"ver_{digest}"


def issue_token(v: Verification, policy: Policy, now: datetime) -> tuple[IssuedToken, TokenGrant]:
    """A fresh token for ``v`` (its operation, and for a payment its amount and payee)."""
    expires = now + timedelta(seconds=policy.challenge.token_ttl_seconds)
    grant = TokenGrant(owner=v.owner, operation=v.operation, verification_id=v.verification_id,
                       amount=v.amount if v.operation is Operation.PAYMENT else None,
                       payee_account_id=v.payee_account_id if v.operation is Operation.PAYMENT else None,
                       expires_at=expires)
    return IssuedToken(token=new_token(), expires_at=expires), grant


def count_exemption(store: VerificationStore, owner: str, history: History, outcome: Outcome, amount: int,
                    policy: Policy) -> GuardedWrite:
    """Every exempted payment adds to the counters since the last verification; a LOW_VALUE exemption only
    while they stay within its limits, less what the profile counted since the verification (checked in the
    write, so concurrent triggers cannot pass them together)."""
    if outcome.exemption is not None and outcome.exemption.rule == "LOW_VALUE":
        rule, detail = policy.exemptions.low_value, outcome.exemption.detail
        # the profile's payments since the verification take their share of the limits in the write too
        return store.w_count_exemption(owner, history.exempt_epoch, amount,
                                       rule.cumulative_limit - int(detail.get("profile_amount", 0)),
                                       rule.count_limit - int(detail.get("profile_count", 0)))
    return store.w_count_exemption(owner, history.exempt_epoch, amount)
