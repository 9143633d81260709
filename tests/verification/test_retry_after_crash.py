"""A §4 request retried with its Idempotency-Key after a crash between its commit and the idempotency record's
completion (the route runs again) answers what it first answered, changes nothing twice, and re-issues no secret;
a request with another key is refused as before (``docs/reliability.md``, issue 14). ``request`` is the request's
tag (``shared.api.idempotency.request_tag``): the same key gives the same tag. Services on fakes, fake clock."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack import LocalStack
from shared.errors import TooManyAttempts
from shared.verification.errors import (
    PhoneChangeNotFound,
    VerificationInvalid,
    VerificationNotOpen,
    VerificationRequired,
)
from shared.verification.models import AttemptResult, Method, Status
from shared.verification.services.challenges import Answer
from tests.conftest import Api, Reply
from tests.verification.conftest import VerificationApi
from tests.verification.fakes import World
from tests.verification.test_services import PHONE, Services, otp_pass, trigger

NEW_PHONE = "+8613811112222"


@pytest.fixture
def w() -> World:
    world = World()
    world.user("alice", PHONE)
    return world


@pytest.fixture
def s(w: World) -> Services:
    return Services(w)


def test_a_retried_code_request_answers_its_send_and_sends_nothing_again(s: Services, w: World) -> None:
    v = trigger(s)
    first = s.challenges.send_otp("alice", v.verification_id, request="req-1")
    sms, sends = len(w.notifier.sent), len(w.store.history("alice").otp_sends)
    w.clock.advance(seconds=1)
    again = s.challenges.send_otp("alice", v.verification_id, request="req-1")
    assert (again.expires_at, again.resend_after, again.phone, again.verification.tries_left) == (
        first.expires_at, first.resend_after, first.phone, first.verification.tries_left)
    assert len(w.notifier.sent) == sms and len(w.store.history("alice").otp_sends) == sends
    assert w.store.get(v.verification_id).otp_sends == 1  # type: ignore[union-attr]
    with pytest.raises(TooManyAttempts):  # another request: the resend interval as before
        s.challenges.send_otp("alice", v.verification_id, request="req-2")


def test_a_retried_passing_attempt_answers_passed_without_a_token(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    answer = Answer(method=Method.SMS_OTP, otp=w.notifier.last_code(PHONE))
    first = s.challenges.attempt("alice", v.verification_id, answer, request="att-1")
    assert first.result is AttemptResult.PASSED and first.token is not None
    events, tokens = len(w.store.history("alice").events), len(w.store.tokens)
    again = s.challenges.attempt("alice", v.verification_id, answer, request="att-1")
    assert again.result is AttemptResult.PASSED and again.token is None  # only hashed: never issued twice
    assert again.token_expires_at == first.token.expires_at and again.tries_left == first.tries_left
    assert len(w.store.history("alice").events) == events and len(w.store.tokens) == tokens
    with pytest.raises(VerificationNotOpen):  # another request: the verification passed
        s.challenges.attempt("alice", v.verification_id, answer, request="att-2")


def test_a_retried_failed_attempt_answers_failed_and_uses_one_try(s: Services, w: World) -> None:
    v = trigger(s)
    s.challenges.send_otp("alice", v.verification_id)
    code = w.notifier.last_code(PHONE)
    wrong = Answer(method=Method.SMS_OTP, otp="000000" if code != "000000" else "111111")
    first = s.challenges.attempt("alice", v.verification_id, wrong, request="att-1")
    again = s.challenges.attempt("alice", v.verification_id, wrong, request="att-1")
    assert first.result is again.result is AttemptResult.FAILED and first.tries_left == again.tries_left == 4
    assert len(w.store.history("alice").failures) == 1
    stored = w.store.get(v.verification_id)
    assert stored is not None and stored.tries == 1 and stored.status is Status.OPEN
    other = s.challenges.attempt("alice", v.verification_id, wrong, request="att-2")  # another try: counted
    assert other.tries_left == 3


def test_a_retried_first_password_answers_it_and_another_request_needs_a_token(s: Services, w: World) -> None:
    record, changed = s.passwords.set("alice", "862731", None, request="pwd-1")
    again, changed_again = s.passwords.set("alice", "862731", None, request="pwd-1")
    assert (again, changed_again) == (record, changed) and not changed
    assert len(w.store.history("alice").sensitive_changes) == 1
    with pytest.raises(VerificationRequired):  # another request
        s.passwords.set("alice", "862731", None, request="pwd-2")
    with pytest.raises(VerificationRequired):  # the same tag with another password is not the same request
        s.passwords.set("alice", "917364", None, request="pwd-1")


def test_a_retried_password_change_answers_changed_without_a_second_token(s: Services, w: World) -> None:
    s.passwords.set("alice", "862731", None)
    token = otp_pass(s, trigger(s)).token
    _, changed = s.passwords.set("alice", "917364", token.token, request="pwd-1")
    _, again = s.passwords.set("alice", "917364", token.token, request="pwd-1")  # the token is spent: answered
    assert changed and again
    with pytest.raises(VerificationInvalid):
        s.passwords.set("alice", "917364", token.token, request="pwd-2")


def test_a_retried_phone_change_answers_the_pending_change_once(s: Services, w: World) -> None:
    token = otp_pass(s, trigger(s)).token
    first = s.phone.request("alice", NEW_PHONE, token.token, request="chg-1")
    sms = len(w.notifier.sent)
    again = s.phone.request("alice", NEW_PHONE, token.token, request="chg-1")
    assert again == first and len(w.notifier.sent) == sms
    with pytest.raises(VerificationInvalid):  # another request: the token was spent by the first
        s.phone.request("alice", NEW_PHONE, token.token, request="chg-2")
    with pytest.raises(VerificationInvalid):  # the same tag for another number is not the same request
        s.phone.request("alice", "+8613833334444", token.token, request="chg-1")


def test_a_retried_confirmation_answers_its_outcome(s: Services, w: World) -> None:
    token = otp_pass(s, trigger(s)).token
    s.phone.request("alice", NEW_PHONE, token.token)
    code = w.notifier.last_code(NEW_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    failed = s.phone.confirm("alice", wrong, request="cf-1")
    assert s.phone.confirm("alice", wrong, request="cf-1") == failed and failed.tries_left == 4  # one try used
    done = s.phone.confirm("alice", code, request="cf-2")
    again = s.phone.confirm("alice", code, request="cf-2")
    assert done.result is again.result is AttemptResult.PASSED and again.tries_left == done.tries_left
    assert again.account is not None and again.account.phone == NEW_PHONE
    with pytest.raises(PhoneChangeNotFound):  # another request: the change is done
        s.phone.confirm("alice", code, request="cf-3")


# --- over the local API: the crash simulated by forgetting the idempotency records (the route runs again) -------
def _forget_idempotency(stack: LocalStack) -> None:
    ddb = stack.client("dynamodb")
    table = stack.template.physical_name("IdempotencyTable")
    for item in ddb.scan(TableName=table)["Items"]:
        ddb.delete_item(TableName=table, Key={"id": item["id"]})


def _twice(api: Api, stack: LocalStack, method: str, path: str, body: dict[str, Any], token: str,
           headers: dict[str, str] | None = None) -> tuple[Reply, Reply, Reply]:
    """The request, the same request again after its idempotency record was lost, and one with another key."""
    key = str(uuid.uuid4())
    first = api.call(method, path, body, token=token, key=key, headers=headers)
    _forget_idempotency(stack)
    again = api.call(method, path, body, token=token, key=key, headers=headers)
    other = api.call(method, path, body, token=token, key=str(uuid.uuid4()), headers=headers)
    return first, again, other


def test_each_route_retried_after_its_commit_answers_its_first_answer(v: VerificationApi, api: Api,
                                                                      clean_stack: LocalStack) -> None:
    c = v.customer()
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    first, again, other = _twice(api, clean_stack, "POST", f"/verifications/{vid}/otp", {}, c.token)
    assert first.status == again.status == 200 and again.body == first.body and len(v.outbox(c.phone)) == 1
    assert (other.status, other.code) == (429, "TOO_MANY_ATTEMPTS")

    answer = {"method": "SMS_OTP", "otp": v.code(c.phone)}
    first, again, other = _twice(api, clean_stack, "POST", f"/verifications/{vid}/attempts", answer, c.token)
    assert first.body["result"] == "PASSED" and first.body["token"], first.body
    assert again.status == 200 and again.body == {**first.body, "token": None}  # the token is never issued twice
    assert (other.status, other.code) == (409, "VERIFICATION_NOT_OPEN")
    token = first.body["token"]  # the first answer's: the one the client holds

    change = {"phone": "+8613722224444"}
    headers = {"X-Verification-Token": token}
    first, again, other = _twice(api, clean_stack, "PATCH", "/accounts/me", change, c.token, headers)
    assert first.status == again.status == 202 and again.body == first.body and len(v.outbox(change["phone"])) == 1
    assert (other.status, other.code) == (403, "VERIFICATION_INVALID")

    code = {"otp": v.code(change["phone"])}
    first, again, other = _twice(api, clean_stack, "POST", "/accounts/me/phone/confirmation", code, c.token)
    assert first.body["result"] == "PASSED" and (again.status, again.body) == (200, first.body), again.body
    assert (other.status, other.code) == (404, "PHONE_CHANGE_NOT_FOUND")

    first, again, other = _twice(api, clean_stack, "PUT", "/me/payment-password", {"password": "862731"}, c.token)
    assert first.status in (200, 201) and (again.status, again.body) == (first.status, first.body)
    assert (other.status, other.code) == (403, "VERIFICATION_REQUIRED")
