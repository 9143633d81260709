"""Challenges (SPEC §4 step 4): send a one-time code, take attempts with any offered method, pass or fail.

Every attempt that is processed changes the verification and the user's history in one transaction with a
version check (two concurrent attempts cannot both use the last try, nor both pass), and answers PASSED (with a
token), FAILED (with the tries left) or LOCKED (the verification is void and the user locked out for a while).
Before anything is evaluated the user's lockout and failures-per-hour limit are checked (429).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.crypto import OTP, VERIFICATION_TOKEN, equal, new_otp, scrypt_hash
from shared.errors import TemporarilyUnavailable, TooManyAttempts
from shared.observability import logger, metrics
from shared.verification.errors import (
    MethodNotOffered,
    NoPhone,
    OtpNotSent,
    PasswordNotSet,
    StaleState,
    VerificationExpired,
    VerificationNotOpen,
)
from shared.verification.models import (
    STRONG_METHODS,
    AttemptResult,
    FaceEvidence,
    History,
    HistoryEvent,
    IssuedToken,
    Method,
    Operation,
    PasswordRecord,
    Status,
    Verification,
    new_id,
    otp_material,
)
from shared.verification.services.base import (
    MAX_EVENTS,
    MAX_PREFIXES,
    STALE_RETRIES,
    VerificationBase,
    _seconds,
    bounded,
)
from shared.verification.services.decisions import issue_token
from shared.writes import GuardedWrite

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

TOKEN_OPERATIONS = frozenset({Operation.PAYMENT, Operation.ACCOUNT_UPDATE})
SMS_TEXT = "Your wallet verification code is {code}. It expires in {minutes} minutes. Never share it with anyone."


@dataclass(frozen=True)
class CardAnswer:
    last4: str
    id_number: str

    def __repr__(self) -> str:
        return "CardAnswer(****)"


@dataclass(frozen=True)
class FaceAnswer:
    image: bytes
    challenge_id: str
    frames: Sequence[bytes]

    def __repr__(self) -> str:
        return f"FaceAnswer(frames={len(self.frames)})"


@dataclass(frozen=True)
class Answer:
    """What the user sent for one method (secrets: never logged, never stored)."""

    method: Method
    otp: str | None = None
    password: str | None = None
    card: CardAnswer | None = None
    face: FaceAnswer | None = None

    def __repr__(self) -> str:
        return f"Answer(method={self.method.value})"


@dataclass(frozen=True)
class AttemptOutcome:
    result: AttemptResult
    verification: Verification
    tries_left: int
    token: IssuedToken | None = None
    token_expires_at: datetime | None = None  # a replayed pass: the expiry of the token it issued (not the token)
    gate_cleared: bool | None = None
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OtpSent:
    verification: Verification
    phone: str
    expires_at: datetime
    resend_after: datetime


class ChallengeService(VerificationBase):
    # --- one-time codes -----------------------------------------------------------------------------------
    def send_otp(self, owner: str, verification_id: str, request: str | None = None) -> OtpSent:
        """Send a fresh code to the account's phone. The tries left are unchanged: a resend never resets them.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded with the code. The same
        request again after its commit (a retry after a crash) answers what it answered and sends nothing: the
        code exists only hashed, and a new one would be a second send (if the crash came before the SMS left, the
        client asks for another code after ``resend_after``, as for any SMS lost on the way)."""
        for _ in range(STALE_RETRIES):
            policy, now = self.policy(), self.now()
            v = self.owned(owner, verification_id)
            if request and v.otp_request == request:
                return self._sent_again(v, policy)
            v = self._require_open(v, now)
            if Method.SMS_OTP not in v.outcome.methods:
                raise MethodNotOffered(method=Method.SMS_OTP.value, offered=[m.value for m in v.outcome.methods])
            history = self.store.history(owner)
            self.check_lockout(history, now, policy)
            self.check_resend(v, history, now, policy)
            account = self.deps.accounts.account(owner)
            if account is None or not account.phone:
                raise NoPhone()
            code = new_otp()
            expires = now + timedelta(seconds=policy.challenge.otp_ttl_seconds)
            sent = v.model_copy(update={
                "otp_hash": self.deps.hasher.keyed_hash(OTP, otp_material(v.verification_id, code)),
                "otp_expires_at": expires, "otp_sends": v.otp_sends + 1, "otp_last_sent_at": now,
                "otp_request": request, "version": v.version + 1})
            history_after = history.model_copy(update={
                "otp_sends": (*bounded(history.otp_sends, now, timedelta(hours=1)), now),
                "version": history.version + 1})
            try:
                self.store.commit([self.store.w_replace_verification(sent, v.version, open_at=now),
                                   self.store.w_put_history(history_after, history.version)])
            except StaleState:
                continue
            self.deliver(account.phone, code, policy)
            return OtpSent(verification=sent, phone=account.phone, expires_at=expires,
                           resend_after=now + timedelta(seconds=policy.challenge.otp_resend_interval_seconds))
        raise TemporarilyUnavailable(verification_id=verification_id)

    def _sent_again(self, v: Verification, policy: Policy) -> OtpSent:
        """The answer of the send recorded on ``v`` (its request is being retried)."""
        assert v.otp_expires_at is not None and v.otp_last_sent_at is not None  # set with ``otp_request``
        account = self.deps.accounts.account(v.owner)
        if account is None or not account.phone:
            raise NoPhone()
        logger.info("one-time code request answered again", extra={"verification_id": v.verification_id})
        return OtpSent(verification=v, phone=account.phone, expires_at=v.otp_expires_at,
                       resend_after=v.otp_last_sent_at + timedelta(
                           seconds=policy.challenge.otp_resend_interval_seconds))

    def check_resend(self, v: Verification, history: History, now: datetime, policy: Policy) -> None:
        limits = policy.challenge
        if v.otp_last_sent_at is not None:
            wait = v.otp_last_sent_at + timedelta(seconds=limits.otp_resend_interval_seconds) - now
            if wait.total_seconds() > 0:
                raise TooManyAttempts(message="A code was sent moments ago; wait before asking for another.",
                                      retry_after_seconds=_seconds(wait), scope="otp_resend")
        sends = sorted(bounded(history.otp_sends, now, timedelta(hours=1)))
        if len(sends) >= limits.otp_sends_per_hour:
            oldest = sends[len(sends) - limits.otp_sends_per_hour]
            raise TooManyAttempts(message="Too many codes requested this hour.", scope="otp_sends",
                                  retry_after_seconds=_seconds(oldest + timedelta(hours=1) - now),
                                  limit=limits.otp_sends_per_hour)

    def deliver(self, phone: str, code: str, policy: Policy) -> None:
        minutes = max(1, policy.challenge.otp_ttl_seconds // 60)
        try:
            self.deps.notifier.send_sms(phone, SMS_TEXT.format(code=code, minutes=minutes))
        except (OSError, RuntimeError) as exc:
            logger.warning("one-time code not delivered", extra={"error": type(exc).__name__})
            metrics.add_metric(name="OtpDeliveryFailed", unit="Count", value=1)
            raise TemporarilyUnavailable("The code could not be sent; ask for a new one.") from exc

    # --- attempts -----------------------------------------------------------------------------------------
    def attempt(self, owner: str, verification_id: str, answer: Answer, request: str | None = None
                ) -> AttemptOutcome:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the verification
        with the attempt's outcome. The same request again after its commit (a retry after a crash) answers that
        outcome (a PASSED one without its token: it exists only hashed and is never issued twice); any other
        request finds the verification as the attempt left it (``VERIFICATION_NOT_OPEN`` once passed)."""
        policy, now = self.policy(), self.now()
        v = self.owned(owner, verification_id)
        if request and v.attempt_request == request:
            replayed = self._attempted_by(v, now)
            if replayed is not None:
                return replayed
        if v.status is Status.PASSED and v.operation is Operation.BINDING_FIRST_USE:
            finished = self._finish_first_use(v, now)
            if finished is not None:
                return finished
        if v.status is Status.LOCKED:
            history = self.store.history(owner)
            until = history.locked_until if history.locked_until and history.locked_until > now else None
            raise TooManyAttempts(message="This verification is locked after too many wrong tries; start a new one.",
                                  retry_after_seconds=_seconds(until - now) if until else 1, scope="verification")
        v = self._open(owner, verification_id, now)
        if answer.method not in v.outcome.methods:
            raise MethodNotOffered(method=answer.method.value, offered=[m.value for m in v.outcome.methods])
        self.check_lockout(self.store.history(owner), now, policy)
        face = self._face(owner, answer) if answer.method is Method.FACE else None
        for _ in range(STALE_RETRIES):
            policy, now = self.policy(), self.now()
            v = self._open(owner, verification_id, now)
            history = self.store.history(owner)
            self.check_lockout(history, now, policy)
            password = self._password_ready(owner, now) if answer.method is Method.PASSWORD else None
            passed = self._evaluate(v, answer, now, password, face)
            try:
                if passed:
                    return self._pass(v, history, answer.method, password, policy, now, request)
                return self._fail(v, history, answer.method, password, policy, now, request)
            except StaleState:
                continue
        raise TemporarilyUnavailable(verification_id=verification_id)

    def _attempted_by(self, v: Verification, now: datetime) -> AttemptOutcome | None:
        """The outcome of the attempt recorded on ``v`` (its request is being retried), as first answered but
        without the token (never stored in clear, never issued twice: the client starts a new verification if
        it needs one); a BINDING_FIRST_USE pass whose gate is still up lifts it first."""
        logger.info("verification attempt answered again", extra={"verification_id": v.verification_id,
                                                                   "status": v.status.value})
        match v.status:
            case Status.PASSED:
                if v.operation is Operation.BINDING_FIRST_USE:
                    finished = self._finish_first_use(v, now)
                    if finished is not None:
                        return finished
                gate = (not self.deps.first_use.is_required(v.owner)
                        if v.operation is Operation.BINDING_FIRST_USE and v.passed_method in STRONG_METHODS else None)
                if gate:  # lifted by the first try: the retry finishes what may have followed (binding's profile)
                    assert v.passed_method is not None
                    self.deps.first_use.clear(v.owner, v.verification_id, v.passed_method.value)
                return AttemptOutcome(result=AttemptResult.PASSED, verification=v, tries_left=v.tries_left,
                                      token_expires_at=v.token_expires_at, gate_cleared=gate)
            case Status.LOCKED:
                return AttemptOutcome(result=AttemptResult.LOCKED, verification=v, tries_left=v.tries_left)
            case Status.OPEN:
                return AttemptOutcome(result=AttemptResult.FAILED, verification=v, tries_left=v.tries_left)
        return None

    def _finish_first_use(self, v: Verification, now: datetime) -> AttemptOutcome | None:
        """A retried attempt on a BINDING_FIRST_USE verification that passed (a crash between its commit and the
        gate's lifting): lift the gate now, while the verification is unexpired; None when there is nothing
        left to do (the answer is then VERIFICATION_NOT_OPEN, as for any answered verification)."""
        if v.expires_at <= now or v.passed_method not in STRONG_METHODS or not self.deps.first_use.is_required(v.owner):
            return None
        assert v.passed_method is not None
        cleared = self.deps.first_use.clear(v.owner, v.verification_id, v.passed_method.value)
        logger.info("first-use gate lifted on a retried attempt", extra={"verification_id": v.verification_id})
        return AttemptOutcome(result=AttemptResult.PASSED, verification=v, tries_left=v.tries_left,
                              gate_cleared=cleared)

    def _open(self, owner: str, verification_id: str, now: datetime) -> Verification:
        return self._require_open(self.owned(owner, verification_id), now)

    @staticmethod
    def _require_open(v: Verification, now: datetime) -> Verification:
        if v.status is Status.LOCKED:
            raise TooManyAttempts(message="This verification is locked after too many wrong tries; start a new one.",
                                  retry_after_seconds=1, scope="verification")
        if v.status is not Status.OPEN:
            raise VerificationNotOpen(status=v.status.value)
        if v.expires_at <= now:
            raise VerificationExpired(expired_at=v.expires_at.isoformat())
        return v

    def _face(self, owner: str, answer: Answer) -> FaceEvidence:
        assert answer.face is not None
        return self.deps.face.verify_live(owner, answer.face.image, answer.face.challenge_id, answer.face.frames)

    def _password_ready(self, owner: str, now: datetime) -> PasswordRecord:
        record = self.store.password(owner)
        if record is None:
            raise PasswordNotSet()
        if record.locked_until and record.locked_until > now:
            raise TooManyAttempts(message="The payment password is locked after too many wrong tries.",
                                  retry_after_seconds=_seconds(record.locked_until - now), scope="password_locked")
        if record.next_try_at and record.next_try_at > now:
            raise TooManyAttempts(message="Wait before trying the payment password again.",
                                  retry_after_seconds=_seconds(record.next_try_at - now), scope="password_delay")
        return record

    def _evaluate(self, v: Verification, answer: Answer, now: datetime, password: PasswordRecord | None,
                  face: FaceEvidence | None) -> bool:
        match answer.method:
            case Method.SMS_OTP:
                if v.otp_hash is None or v.otp_expires_at is None:
                    raise OtpNotSent()
                given = self.deps.hasher.keyed_hash(OTP, otp_material(v.verification_id, answer.otp or ""))
                return equal(given, v.otp_hash) and v.otp_expires_at > now
            case Method.PASSWORD:
                assert password is not None
                given = scrypt_hash(answer.password or "", password.salt, password.n, password.r, password.p)
                return equal(given, password.hash)
            case Method.CARD:
                assert answer.card is not None
                return self.deps.cards.matches(v.owner, answer.card.last4, answer.card.id_number)
            case Method.FACE:
                return bool(face and face.matched)
        return False

    def _pass(self, v: Verification, history: History, method: Method, password: PasswordRecord | None,
              policy: Policy, now: datetime, request: str | None = None) -> AttemptOutcome:
        strong = method in STRONG_METHODS
        token = grant = None
        if v.operation in TOKEN_OPERATIONS:
            token, grant = issue_token(v, policy, now)
        passed = v.model_copy(update={"status": Status.PASSED, "passed_method": method, "passed_at": now,
                                      "attempt_request": request,
                                      "token_expires_at": token.expires_at if token else None,
                                      "version": v.version + 1})
        writes: list[GuardedWrite] = [self.store.w_replace_verification(
            passed, v.version, open_at=now, otp_valid_at=now if method is Method.SMS_OTP else None)]
        writes.append(self.store.w_put_history(observe(history, v, now, passed=True, strong=strong),
                                               history.version, reset_counters=True))
        if password is not None:
            writes.append(self.store.w_put_password(
                password.model_copy(update={"failures": 0, "next_try_at": None, "version": password.version + 1}),
                password.version))
        if token is not None and grant is not None:
            writes.append(self.store.w_put_token(self.deps.hasher.keyed_hash(VERIFICATION_TOKEN, token.token), grant))
        self.store.commit(writes)
        metrics.add_metric(name="VerificationPassed", unit="Count", value=1)
        logger.info("verification passed", extra={"verification_id": v.verification_id, "method": method.value,
                                                  "operation": v.operation.value})
        self.into_profile(v.owner, passed=True, strong=strong, device_id=v.device_id if strong else None)
        cleared = None
        if v.operation is Operation.BINDING_FIRST_USE:
            cleared = self.deps.first_use.clear(v.owner, v.verification_id, method.value)
        return AttemptOutcome(result=AttemptResult.PASSED, verification=passed, tries_left=passed.tries_left,
                              token=token, gate_cleared=cleared)

    def _fail(self, v: Verification, history: History, method: Method, password: PasswordRecord | None,
              policy: Policy, now: datetime, request: str | None = None) -> AttemptOutcome:
        tries = v.tries + 1
        locked = tries >= v.max_tries
        failed = v.model_copy(update={"tries": tries, "status": Status.LOCKED if locked else Status.OPEN,
                                      "attempt_request": request, "version": v.version + 1})
        after = observe(history, v, now, passed=False, strong=False)
        if locked:
            after = after.model_copy(update={
                "locked_until": now + timedelta(seconds=policy.challenge.lockout_seconds)})
        writes = [self.store.w_replace_verification(failed, v.version, open_at=now),
                  self.store.w_put_history(after, history.version)]
        if password is not None:
            writes.append(self.store.w_put_password(password_failure(password, policy, now), password.version))
        self.store.commit(writes)
        metrics.add_metric(name="VerificationFailed", unit="Count", value=1)
        self.into_profile(v.owner, passed=False, strong=False)
        logger.info("verification attempt failed", extra={
            "verification_id": v.verification_id, "method": method.value, "tries_left": failed.tries_left,
            "locked": locked})
        return AttemptOutcome(result=AttemptResult.LOCKED if locked else AttemptResult.FAILED,
                              verification=failed, tries_left=failed.tries_left)


def password_failure(record: PasswordRecord, policy: Policy, now: datetime) -> PasswordRecord:
    """One more failure: a growing delay before the next try, locked after the configured count."""
    limits = policy.challenge.password
    failures = record.failures + 1
    delay = min(limits.max_delay_seconds, limits.base_delay_seconds * 2 ** (failures - 1))
    locked = failures >= limits.max_failures
    return record.model_copy(update={
        "failures": failures, "next_try_at": now + timedelta(seconds=delay),
        "locked_until": now + timedelta(seconds=limits.lock_seconds) if locked else record.locked_until,
        "version": record.version + 1})


def observe(history: History, v: Verification, now: datetime, *, passed: bool, strong: bool) -> History:
    """The history after an attempt on ``v``: the outcome; for a pass also what is now known good (the device if
    strong, the payee of a payment, the network, place and IP prefix it passed from) and new counters."""
    event = HistoryEvent(at=now, passed=passed, session_id=v.session_id, device_id=v.device_id, strong=strong)
    update: dict[str, object] = {"events": (*history.events, event)[-MAX_EVENTS:], "version": history.version + 1}
    if not passed:
        update["failures"] = (*bounded(history.failures, now, timedelta(hours=24)), now)
        return history.model_copy(update=update)
    update.update(last_passed_at=now, exempt_epoch=new_id("ep"), exempt_amount=0, exempt_count=0)
    if strong:
        update["last_strong_at"] = now
        update["strong_devices"] = {**history.strong_devices, v.device_id: now}
    if v.operation is Operation.PAYMENT and v.payee_account_id:
        update["verified_payees"] = {**history.verified_payees, v.payee_account_id: now}
    if v.geo is not None:
        update.update(last_geo=v.geo, last_geo_at=now)
    if v.ip_prefix and v.ip_prefix not in history.ip_prefixes:
        update["ip_prefixes"] = (*history.ip_prefixes, v.ip_prefix)[-MAX_PREFIXES:]
    if v.network.value != "UNKNOWN" and v.network.value not in history.network_types:
        update["network_types"] = (*history.network_types, v.network.value)
    return history.model_copy(update=update)
