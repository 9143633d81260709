"""The services on fakes: triggers, OTP and attempts with every method, lockouts, tokens, payment password, phone
change, the transfers' payment guard, feedback. Time is a fake clock: nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.decisions import SelfReview
from shared.errors import Forbidden, IdempotencyKeyReused, TooManyAttempts
from shared.ledger.ports import PaymentRequest
from shared.types import ClientContext, Money
from shared.verification.errors import (
    MethodNotOffered,
    NoPhone,
    OtpNotSent,
    VerificationDenied,
    VerificationExpired,
    VerificationInvalid,
    VerificationNotFound,
    VerificationNotOpen,
    VerificationRequired,
)
from shared.verification.models import (
    AttemptResult,
    Decision,
    Label,
    Method,
    NetworkType,
    Operation,
    Status,
    Strength,
    TriggerContext,
)
from shared.verification.services import (
    ChallengeService,
    DecisionService,
    FeedbackService,
    PasswordService,
    PaymentGuardService,
    PhoneChangeService,
    TokenService,
)
from shared.verification.services.challenges import Answer, CardAnswer, FaceAnswer
from tests.verification.fakes import World, policy

PHONE = "+8613800000001"


class Services:
    def __init__(self, world: World) -> None:
        deps = world.deps()
        self.world = world
        self.decisions = DecisionService(deps)
        self.challenges = ChallengeService(deps)
        self.tokens = TokenService(deps.store, deps.hasher, deps.clock)
        self.passwords = PasswordService(deps, self.tokens)
        self.phone = PhoneChangeService(deps, self.tokens, self.challenges)
        self.guard = PaymentGuardService(deps, self.decisions, self.tokens)
        self.feedback = FeedbackService(deps)


@pytest.fixture
def w() -> World:
    world = World()
    world.user("alice", PHONE)
    world.user("bob", "+8613800000002")
    return world


@pytest.fixture
def s(w: World) -> Services:
    return Services(w)


def ctx(**kw: Any) -> TriggerContext:
    return TriggerContext(**{"device_id": "dev-1", "header_device_id": "dev-1", "network": NetworkType.WIFI,
                             "session_id": "sess-1", "source_ip": "10.0.0.8", **kw})


def trigger(s: Services, op: Operation = Operation.ACCOUNT_UPDATE, owner: str = "alice", **kw: Any) -> Any:
    v, _ = s.decisions.trigger(owner, op, ctx(**kw))
    return v


def otp_pass(s: Services, v: Any, owner: str = "alice", phone: str = PHONE) -> Any:
    s.challenges.send_otp(owner, v.verification_id)
    return s.challenges.attempt(owner, v.verification_id,
                                Answer(method=Method.SMS_OTP, otp=s.world.notifier.last_code(phone)))


# --- triggers ----------------------------------------------------------------------------------------------
def test_a_trigger_records_the_decision_with_its_reasons(s: Services, w: World) -> None:
    v = trigger(s)
    stored = w.store.get(v.verification_id)
    assert stored == v and v.status is Status.OPEN and v.outcome.decision is Decision.CHALLENGE
    assert v.outcome.policy_version == w.policy.version and v.outcome.feasibility is not None
    assert v.outcome.feasibility.model_version == "feasibility-test" and len(v.outcome.feasibility.features) == 25
    assert Method.SMS_OTP in v.outcome.methods  # alice has a phone; no password, face or card
    assert v.outcome.methods == (Method.SMS_OTP,)
    assert s.decisions.audit("alice", 10, None)[0] == [v]


def test_a_retried_trigger_answers_the_recorded_decision_once(s: Services, w: World) -> None:
    """A retry with the same Idempotency-Key (after a crash past the commit) puts the same id: the put-once
    condition fails and the first decision answers; nothing is recorded twice. Another trigger with the key: 409."""
    first, _ = s.decisions.trigger("alice", Operation.ACCOUNT_UPDATE, ctx(), idempotency_key="key-1")
    again, token = s.decisions.trigger("alice", Operation.ACCOUNT_UPDATE, ctx(), idempotency_key="key-1")
    assert again == first and token is None
    assert [v.verification_id for v in s.decisions.audit("alice", 10, None)[0]] == [first.verification_id]
    with pytest.raises(IdempotencyKeyReused):
        s.decisions.trigger("alice", Operation.LOGIN, ctx(), idempotency_key="key-1")
    other, _ = s.decisions.trigger("bob", Operation.ACCOUNT_UPDATE, ctx(), idempotency_key="key-1")
    assert other.verification_id != first.verification_id  # the owner is part of the id
    assert len(s.decisions.audit("alice", 10, None)[0]) == 1


def test_enrolment_decides_the_methods(s: Services, w: World) -> None:
    s.passwords.set("alice", "862731", None)
    w.face.enrolled_users.add("alice")
    w.cards.bindings["alice"] = ("4242", "110101199003077777")
    v = trigger(s)
    assert set(v.outcome.methods) == set(Method)
    w.accounts.add("nophone", phone=None)
    assert trigger(s, owner="nophone").outcome.decision is Decision.DENY


def test_verification_free_payment_returns_a_token_bound_to_amount_and_payee(s: Services, w: World) -> None:
    amount = Money(amount=5_000, currency="CNY")
    v, token = s.decisions.trigger("alice", Operation.PAYMENT, ctx(amount=amount, payee_account_id="acc_bob"))
    assert v.outcome.decision is Decision.VERIFICATION_FREE and v.status is Status.FREE
    assert v.outcome.exemption is not None and v.outcome.exemption.rule == "LOW_VALUE" and token is not None
    assert w.store.history("alice").exempt_count == 1 and w.store.history("alice").exempt_amount == 5_000
    with pytest.raises(VerificationInvalid):  # another payee
        s.tokens.consume(token.token, "alice", Operation.PAYMENT, amount, "acc_carol")
    s.tokens.consume(token.token, "alice", Operation.PAYMENT, amount, "acc_bob")
    with pytest.raises(VerificationInvalid):  # single use
        s.tokens.consume(token.token, "alice", Operation.PAYMENT, amount, "acc_bob")


def test_the_low_value_counters_stop_the_sixth_exemption(s: Services, w: World) -> None:
    amount = Money(amount=1_000, currency="CNY")
    decisions = [s.decisions.trigger("alice", Operation.PAYMENT, ctx(amount=amount, payee_account_id="acc_bob"))[0]
                 for _ in range(6)]
    assert [d.outcome.decision for d in decisions] == [Decision.VERIFICATION_FREE] * 5 + [Decision.CHALLENGE]
    passed = otp_pass(s, decisions[-1])  # a passed verification restarts the counters
    assert passed.result is AttemptResult.PASSED and w.store.history("alice").exempt_count == 0
    again, _ = s.decisions.trigger("alice", Operation.PAYMENT, ctx(amount=amount, payee_account_id="acc_bob"))
    assert again.outcome.decision is Decision.VERIFICATION_FREE


def test_a_locked_out_user_cannot_trigger(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    for _ in range(5):
        result = s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="000000"))
    assert result.result is AttemptResult.LOCKED
    with pytest.raises(TooManyAttempts) as info:
        trigger(s)
    assert info.value.retry_after_seconds == w.policy.challenge.lockout_seconds
    w.clock.advance(seconds=w.policy.challenge.lockout_seconds)
    assert trigger(s).status is Status.OPEN


# --- OTP -----------------------------------------------------------------------------------------------------
def test_otp_is_six_digits_stored_keyed_hashed_and_passes_once(s: Services, w: World) -> None:
    v = trigger(s)
    sent = s.challenges.send_otp("alice", v.verification_id)
    code = w.notifier.last_code(PHONE)
    assert len(code) == 6 and code.isdigit() and sent.phone == PHONE
    stored = w.store.get(v.verification_id)
    assert stored is not None and stored.otp_hash and code not in stored.otp_hash and code not in repr(stored)
    assert stored.otp_expires_at == w.clock.now + timedelta(seconds=300)
    result = s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp=code))
    assert result.result is AttemptResult.PASSED and result.token is not None
    assert result.token.expires_at == w.clock.now + timedelta(seconds=300)
    with pytest.raises(VerificationNotOpen):  # reuse
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp=code))


def test_otp_expires_after_five_minutes(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    code = w.notifier.last_code(PHONE)
    w.clock.advance(seconds=300)
    result = s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp=code))
    assert result.result is AttemptResult.FAILED and result.tries_left == 4


def test_five_wrong_codes_lock_the_verification(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    code = w.notifier.last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    lefts = [s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp=wrong))
             for _ in range(5)]
    assert [r.tries_left for r in lefts] == [4, 3, 2, 1, 0]
    assert [r.result for r in lefts][-1] is AttemptResult.LOCKED
    with pytest.raises(TooManyAttempts):  # the right code no longer helps
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp=code))


def test_a_resend_does_not_reset_the_tries_and_is_rate_limited(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    for _ in range(3):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="999999x"[:6]))
    with pytest.raises(TooManyAttempts) as info:  # too soon
        s.challenges.send_otp("alice", v.verification_id)
    assert info.value.details["scope"] == "otp_resend"
    w.clock.advance(seconds=30)
    s.challenges.send_otp("alice", v.verification_id)
    assert w.store.get(v.verification_id).tries == 3  # type: ignore[union-attr]
    old_code_result = s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="123"))
    assert old_code_result.tries_left == 1


def test_otp_sends_per_user_per_hour(s: Services, w: World) -> None:
    for _ in range(5):
        v = trigger(s)
        s.challenges.send_otp("alice", v.verification_id)
    v = trigger(s)
    with pytest.raises(TooManyAttempts) as info:
        s.challenges.send_otp("alice", v.verification_id)
    assert info.value.details["scope"] == "otp_sends" and info.value.retry_after_seconds == 3600
    w.clock.advance(hours=1)
    s.challenges.send_otp("alice", trigger(s).verification_id)


def test_failures_across_verifications_are_limited_per_hour(s: Services, w: World) -> None:
    for _ in range(2):  # 2 x 4 wrong + 2 more = 10 failures without locking any verification
        v = trigger(s)
        s.challenges.send_otp("alice", v.verification_id)
        w.clock.advance(seconds=31)
        for _ in range(4):
            s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="000001"))
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    for _ in range(2):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="000001"))
    with pytest.raises(TooManyAttempts) as info:
        s.challenges.attempt("alice", v.verification_id,
                             Answer(method=Method.SMS_OTP, otp=w.notifier.last_code(PHONE)))
    assert info.value.details["scope"] == "user_failures" and 0 < info.value.retry_after_seconds <= 3600


def test_otp_needs_a_phone_and_a_sent_code_and_must_be_offered(s: Services, w: World) -> None:
    v = trigger(s)
    with pytest.raises(OtpNotSent):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="123456"))
    with pytest.raises(MethodNotOffered):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="x"))
    w.accounts.accounts["alice"] = w.accounts.accounts["alice"].model_copy(update={"phone": None})
    with pytest.raises(NoPhone):
        s.challenges.send_otp("alice", v.verification_id)


def test_another_users_verification_is_not_found(s: Services) -> None:
    v = trigger(s)
    for call in (lambda: s.challenges.send_otp("bob", v.verification_id),
                 lambda: s.challenges.attempt("bob", v.verification_id, Answer(method=Method.SMS_OTP, otp="1")),
                 lambda: s.decisions.get("bob", v.verification_id)):
        with pytest.raises(VerificationNotFound):
            call()


def test_an_expired_verification_takes_no_attempt(s: Services, w: World) -> None:
    v = trigger(s)
    w.clock.advance(seconds=w.policy.challenge.verification_ttl_seconds)
    with pytest.raises(VerificationExpired):
        s.challenges.send_otp("alice", v.verification_id)


# --- password ------------------------------------------------------------------------------------------------
def test_password_first_without_token_change_with_token(s: Services, w: World) -> None:
    record, changed = s.passwords.set("alice", "862731", None)
    assert not changed and record.hash != "862731" and len(record.salt) == 32 and "862731" not in repr(record)
    with pytest.raises(VerificationRequired):
        s.passwords.set("alice", "917364", None)
    v = trigger(s)
    token = otp_pass(s, v).token
    _, changed = s.passwords.set("alice", "917364", token.token)
    assert changed
    with pytest.raises(VerificationInvalid):  # replay
        s.passwords.set("alice", "555123", token.token)
    assert w.store.history("alice").sensitive_changes  # a sensitive change the risk rules see
    assert w.devices.changes == [("alice", "PASSWORD"), ("alice", "PASSWORD")]  # and the activity profile
    w.devices.fail = True  # a profile that cannot be written does not undo the change made here
    _, changed = s.passwords.set("alice", "604418", otp_pass(s, trigger(s)).token.token)
    assert changed and w.devices.changes == [("alice", "PASSWORD"), ("alice", "PASSWORD")]


def test_password_rules(s: Services) -> None:
    for bad in ("12345", "111111", "123456", "654321", "12\n456"):
        with pytest.raises(Exception, match="password"):
            s.passwords.set("alice", bad, None)


def test_password_attempts_grow_a_delay_then_lock(s: Services, w: World) -> None:
    w.set_policy(policy(challenge={**policy().challenge.model_dump(), "password": {
        **policy().challenge.password.model_dump(), "max_failures": 4}}))
    s.passwords.set("alice", "862731", None)
    v = trigger(s, Operation.PAYMENT, amount=Money(amount=900_000, currency="CNY"), payee_account_id="acc_bob")
    assert Method.PASSWORD in v.outcome.methods
    delays = []
    for _ in range(3):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="000999"))
        with pytest.raises(TooManyAttempts) as info:  # even the right password must wait
            s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="862731"))
        delays.append(info.value.retry_after_seconds)
        w.clock.advance(seconds=info.value.retry_after_seconds)
    assert delays == [1, 2, 4]
    s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="000999"))
    record = w.store.password("alice")
    assert record is not None and record.failures == 4 and record.locked_until is not None
    w.clock.advance(seconds=20)
    with pytest.raises(TooManyAttempts) as info:
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="862731"))
    assert info.value.details["scope"] == "password_locked"
    assert Method.PASSWORD not in s.decisions.enrolled("alice")  # a locked password is not offered
    w.clock.advance(seconds=w.policy.challenge.password.lock_seconds)
    assert Method.PASSWORD in s.decisions.enrolled("alice")


def test_password_passes_and_resets_failures(s: Services, w: World) -> None:
    s.passwords.set("alice", "862731", None)
    v = trigger(s)
    s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="000999"))
    w.clock.advance(seconds=1)
    result = s.challenges.attempt("alice", v.verification_id, Answer(method=Method.PASSWORD, password="862731"))
    assert result.result is AttemptResult.PASSED and w.store.password("alice").failures == 0  # type: ignore[union-attr]


# --- strong methods: card and face -----------------------------------------------------------------------------
def test_card_method_checks_last4_and_id_number_and_trusts_the_device(s: Services, w: World) -> None:
    w.cards.bindings["alice"] = ("4242", "110101199003077777")
    v = trigger(s)
    bad = s.challenges.attempt("alice", v.verification_id,
                               Answer(method=Method.CARD, card=CardAnswer("4242", "110101199003070000")))
    assert bad.result is AttemptResult.FAILED and w.devices.trusted == []
    ok = s.challenges.attempt("alice", v.verification_id,
                              Answer(method=Method.CARD, card=CardAnswer("4242", "110101199003077777")))
    assert ok.result is AttemptResult.PASSED and w.devices.trusted == [("alice", "dev-1")]
    assert "dev-1" in w.store.history("alice").strong_devices
    assert w.devices.outcomes == [("alice", False, False), ("alice", True, True)]  # into the activity profile


def test_a_failed_profile_write_does_not_fail_the_attempt(s: Services, w: World,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    w.cards.bindings["alice"] = ("4242", "110101199003077777")
    w.devices.fail = True  # the signals table refuses: the profile is a read model, the history here holds it
    v = trigger(s)
    ok = s.challenges.attempt("alice", v.verification_id,
                              Answer(method=Method.CARD, card=CardAnswer("4242", "110101199003077777")))
    assert ok.result is AttemptResult.PASSED and "dev-1" in w.store.history("alice").strong_devices
    assert "activity profile not updated" in caplog.text and "110101199003077777" not in caplog.text


def test_binding_first_use_passes_with_a_strong_method_and_lifts_the_gate(s: Services, w: World) -> None:
    w.cards.bindings["alice"] = ("4242", "110101199003077777")
    w.gate.required.add("alice")
    v = trigger(s, Operation.BINDING_FIRST_USE)
    assert v.outcome.strength is Strength.STRONG and v.outcome.methods == (Method.CARD,)
    with pytest.raises(MethodNotOffered):
        s.challenges.attempt("alice", v.verification_id, Answer(method=Method.SMS_OTP, otp="123456"))
    ok = s.challenges.attempt("alice", v.verification_id,
                              Answer(method=Method.CARD, card=CardAnswer("4242", "110101199003077777")))
    assert ok.result is AttemptResult.PASSED and ok.token is None and ok.gate_cleared is True
    assert w.gate.cleared == [("alice", v.verification_id, "CARD")]


def test_a_retried_first_use_attempt_lifts_the_gate_a_crash_left_up(s: Services, w: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash after the PASSED commit and before binding lifted the gate: the client's retry (same request)
    lifts it, once; after that the verification is answered (409)."""
    w.cards.bindings["alice"] = ("4242", "110101199003077777")
    w.gate.required.add("alice")
    v = trigger(s, Operation.BINDING_FIRST_USE)
    answer = Answer(method=Method.CARD, card=CardAnswer("4242", "110101199003077777"))

    def crash(*_: Any) -> bool:
        raise RuntimeError("the container died after the commit")

    with monkeypatch.context() as m:
        m.setattr(w.gate, "clear", crash)
        with pytest.raises(RuntimeError):
            s.challenges.attempt("alice", v.verification_id, answer)
    assert w.store.get(v.verification_id).status is Status.PASSED and w.gate.is_required("alice")  # type: ignore[union-attr]
    retried = s.challenges.attempt("alice", v.verification_id, answer)
    assert retried.result is AttemptResult.PASSED and retried.gate_cleared is True
    assert w.gate.cleared == [("alice", v.verification_id, "CARD")] and not w.gate.is_required("alice")
    with pytest.raises(VerificationNotOpen):
        s.challenges.attempt("alice", v.verification_id, answer)


def test_face_method_runs_liveness_once_then_matches_the_enrolled_face(s: Services, w: World) -> None:
    w.face.enrolled_users.add("alice")
    v = trigger(s)
    answer = Answer(method=Method.FACE, face=FaceAnswer(b"selfie", "chal-1", [b"f1", b"f2"]))
    assert s.challenges.attempt("alice", v.verification_id, answer).result is AttemptResult.PASSED
    v2 = trigger(s)
    replayed = s.challenges.attempt("alice", v2.verification_id, answer)  # the same liveness challenge again
    assert replayed.result is AttemptResult.FAILED
    w.face.similarity["alice"] = 0.2
    fresh = Answer(method=Method.FACE, face=FaceAnswer(b"other", "chal-2", [b"f1"]))
    assert s.challenges.attempt("alice", v2.verification_id, fresh).result is AttemptResult.FAILED


def test_a_face_capture_with_the_trigger_scores_biometric_risk(s: Services, w: World) -> None:
    w.face.enrolled_users.add("alice")
    w.face.similarity["alice"] = 0.1
    v, _ = s.decisions.trigger("alice", Operation.LOGIN, ctx(), face_image=b"img")
    assert v.outcome.risk.biometric is not None and "FACE_MISMATCH" in v.outcome.risk.biometric.reasons
    assert v.outcome.strength is Strength.STRONG


# --- tokens ----------------------------------------------------------------------------------------------------
def test_tokens_are_bound_to_user_operation_and_expire(s: Services, w: World) -> None:
    token = otp_pass(s, trigger(s)).token
    assert token.token.startswith("vt_") and len(token.token) >= 40 and token.token not in repr(token)
    with pytest.raises(VerificationInvalid):
        s.tokens.consume(token.token, "bob", Operation.ACCOUNT_UPDATE)
    with pytest.raises(VerificationInvalid):
        s.tokens.consume(token.token, "alice", Operation.PAYMENT)
    w.clock.advance(seconds=300)
    with pytest.raises(VerificationInvalid):
        s.tokens.consume(token.token, "alice", Operation.ACCOUNT_UPDATE)
    with pytest.raises(VerificationInvalid):
        s.tokens.consume("vt_" + "A" * 43, "alice", Operation.ACCOUNT_UPDATE)
    with pytest.raises(VerificationInvalid):
        s.tokens.consume("x" * 300, "alice", Operation.ACCOUNT_UPDATE)


def test_login_passes_without_a_token(s: Services) -> None:
    result = otp_pass(s, trigger(s, Operation.LOGIN, device_id="dev-9", header_device_id="dev-9"))
    assert result.result is AttemptResult.PASSED and result.token is None


# --- phone change -------------------------------------------------------------------------------------------
def test_phone_change_needs_a_token_and_the_new_numbers_code(s: Services, w: World) -> None:
    with pytest.raises(VerificationRequired):
        s.phone.request("alice", "+8613811112222", None)
    token = otp_pass(s, trigger(s)).token
    change = s.phone.request("alice", "+8613811112222", token.token)
    assert w.accounts.account("alice").phone == PHONE  # type: ignore[union-attr]  # unchanged until confirmed
    code = w.notifier.last_code("+8613811112222")
    wrong = s.phone.confirm("alice", "000000" if code != "000000" else "111111")
    assert wrong.result is AttemptResult.FAILED and wrong.tries_left == 4
    done = s.phone.confirm("alice", code)
    assert done.result is AttemptResult.PASSED and done.account is not None
    assert w.accounts.account("alice").phone == "+8613811112222"  # type: ignore[union-attr]
    assert w.store.phone_change("alice") is None and change.new_phone not in repr(change)
    assert ("alice", "PHONE") in w.devices.changes  # the change's time is the activity profile's too
    with pytest.raises(VerificationInvalid):  # the token was used by the request
        s.phone.request("alice", "+8613833334444", token.token)


def test_phone_change_code_expires(s: Services, w: World) -> None:
    token = otp_pass(s, trigger(s)).token
    s.phone.request("alice", "+8613811112222", token.token)
    code = w.notifier.last_code("+8613811112222")
    w.clock.advance(seconds=301)
    assert s.phone.confirm("alice", code).result is AttemptResult.FAILED


# --- the transfers' payment guard ---------------------------------------------------------------------------
def payment(amount: int, token: str | None = None, payee: str = "acc_bob") -> PaymentRequest:
    return PaymentRequest(owner="alice", from_account_id="acc_alice", to_account_id=payee,
                          amount=Money(amount=amount, currency="CNY"),
                          client=ClientContext(device_id="dev-1", session_id="sess-1", source_ip="10.0.0.8",
                                               verification_token=token))


def test_small_transfers_are_not_guarded(s: Services, w: World) -> None:
    assert s.guard.authorize(payment(499_999)) == ()
    assert w.store.verifications == {}


def test_large_transfer_needs_a_payment_token_bound_to_amount_and_payee(s: Services, w: World) -> None:
    with pytest.raises(VerificationRequired) as info:
        s.guard.authorize(payment(500_000))
    vid = info.value.details["verification_id"]
    assert info.value.details["methods"] == ["SMS_OTP"] and w.store.get(vid).purpose == "TRANSFER"  # type: ignore[union-attr]
    token = otp_pass(s, w.store.get(vid)).token
    with pytest.raises(VerificationInvalid):  # dynamic linking: another amount
        w.store.commit(s.guard.authorize(payment(500_001, token.token)))
    with pytest.raises(VerificationInvalid):  # another payee
        w.store.commit(s.guard.authorize(payment(500_000, token.token, payee="acc_carol")))
    w.store.commit(s.guard.authorize(payment(500_000, token.token)))
    with pytest.raises(VerificationInvalid):  # replay
        w.store.commit(s.guard.authorize(payment(500_000, token.token)))


def test_a_denied_large_transfer(s: Services, w: World) -> None:
    w.set_policy(policy(methods={"PAYMENT": ["CARD"]}))  # nothing alice has
    with pytest.raises(VerificationDenied) as info:
        s.guard.authorize(payment(600_000))
    assert isinstance(info.value, Forbidden) and "NO_ELIGIBLE_METHOD" in info.value.details["reasons"]


def test_a_policy_change_alone_makes_a_large_transfer_free(s: Services, w: World) -> None:
    with pytest.raises(VerificationRequired):
        s.guard.authorize(payment(600_000))
    w.set_policy(policy(exemptions={"low_value": {"per_transaction_limit": 1_000_000,
                                                  "cumulative_limit": 2_000_000}}))
    writes = s.guard.authorize(payment(600_000))
    assert len(writes) == 1  # the exemption counter, committed with the transfer
    free = [v for v in w.store.verifications.values() if v.status is Status.FREE]
    assert free and free[0].outcome.exemption.rule == "LOW_VALUE"  # type: ignore[union-attr]
    assert free[0].outcome.policy_version != policy().version


# --- feedback -----------------------------------------------------------------------------------------------
def test_feedback_labels_a_decision_but_not_by_a_party(s: Services, w: World) -> None:
    v = trigger(s, Operation.PAYMENT, amount=Money(amount=900_000, currency="CNY"), payee_account_id="acc_bob")
    with pytest.raises(SelfReview):
        s.feedback.label("alice", v.verification_id, Label.FRAUD, None)
    with pytest.raises(SelfReview):  # the payee is a party too
        s.feedback.label("bob", v.verification_id, Label.FRAUD, None)
    labelled = s.feedback.label("reviewer-1", v.verification_id, Label.FRAUD, "confirmed with the bank")
    assert w.store.get(v.verification_id).label is Label.FRAUD  # type: ignore[union-attr]
    assert labelled.labelled_by == "reviewer-1"
