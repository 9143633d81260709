"""Adaptive verification over the local API, end to end: triggers and their reasons, OTP through the SMS outbox,
tokens at the protected operations (phone change, large transfers), dynamic linking, limits, bad input."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest

from local_stack import LocalStack
from tests.conftest import Api, Reply
from tests.fakes.bindings import BindingFixture
from tests.verification.conftest import Customer, VerificationApi

PAYEE_PLACEHOLDER = "acc_0123456789abcdef0123456789abcdef"


def test_trigger_explains_the_decision_and_records_it_for_audit(v: VerificationApi, api: Api) -> None:
    c = v.customer()
    reply = v.trigger(c, "LOGIN", network="CELLULAR")
    assert reply.status == 201, reply.body
    body = reply.body
    assert body["decision"] == "CHALLENGE" and body["strength"] == "WEAK" and body["methods"] == ["SMS_OTP"]
    assert "NEW_DEVICE" in body["risk"]["account"]["reasons"]
    assert body["risk"]["account"]["contributions"]["NEW_DEVICE"] > 0 and body["risk"]["biometric"] is None
    assert body["policy_version"].startswith("p-") and body["model_version"].startswith("feasibility-gbt-")
    assert 0 <= body["model_score"] <= 1 and body["token"] is None
    same = api.call("GET", f"/verifications/{body['verification_id']}", token=c.token)
    assert same.status == 200 and same.body["reasons"] == body["reasons"]
    reviewer = api.token("risk-ops", "reviewer")
    audit = api.call("GET", f"/admin/verification-decisions?user_id={c.sub}", token=reviewer)
    assert audit.status == 200 and audit.body["items"][0]["verification_id"] == body["verification_id"]
    assert len(audit.body["items"][0]["features"]) == 25 and audit.body["items"][0]["owner"] == c.sub
    assert api.call("GET", f"/admin/verification-decisions?user_id={c.sub}", token=c.token).status == 403


def test_otp_challenge_then_token_then_phone_change(v: VerificationApi, api: Api, clean_stack: LocalStack) -> None:
    c = v.customer()
    new_phone = "+8613722223333"
    without = api.call("PATCH", "/accounts/me", {"phone": new_phone}, token=c.token, key="p1")
    assert (without.status, without.code) == (403, "VERIFICATION_REQUIRED")
    token = v.token_for(c, "ACCOUNT_UPDATE")
    started = api.call("PATCH", "/accounts/me", {"phone": new_phone}, token=c.token, key="p2",
                       headers={"X-Verification-Token": token})
    assert started.status == 202 and started.body["phone"] == "+86137****3333", started.body
    assert api.call("GET", "/accounts/me", token=c.token).body["phone"].endswith(c.phone[-4:])  # not yet
    replay = api.call("PATCH", "/accounts/me", {"phone": "+8613744445555"}, token=c.token, key="p3",
                      headers={"X-Verification-Token": token})
    assert (replay.status, replay.code) == (403, "VERIFICATION_INVALID")  # single use
    code = v.code(new_phone)
    done = api.call("POST", "/accounts/me/phone/confirmation", {"otp": code}, token=c.token, key="p4")
    assert done.status == 200 and done.body["result"] == "PASSED", done.body
    assert done.body["account"]["phone"] == "+86137****3333"
    # the old number is free again, the new one is this account's (one transaction swapped the claims)
    table = clean_stack.template.physical_name("AccountsTable")
    ddb = boto3.client("dynamodb")
    old = ddb.get_item(TableName=table, Key={"pk": {"S": f"PHONE#{c.phone}"}})["Item"]
    new = ddb.get_item(TableName=table, Key={"pk": {"S": f"PHONE#{new_phone}"}})["Item"]
    assert old["released"]["BOOL"] is True and new["owner"]["S"] == c.sub
    other = v.customer(phone=c.phone)  # the released number can be registered by someone else
    assert other.phone == c.phone


def test_wrong_scope_expired_and_replayed_tokens_are_refused(v: VerificationApi, api: Api,
                                                              clean_stack: LocalStack) -> None:
    c = v.customer(balance=2_000_000)
    payee = v.customer()
    payment_token = v.token_for(c, "PAYMENT", amount={"amount": 600_000, "currency": "CNY"},
                                payee_account_id=payee.account_id)
    wrong_scope = api.call("PATCH", "/accounts/me", {"phone": "+8613755556666"}, token=c.token, key="w1",
                           headers={"X-Verification-Token": payment_token})
    assert (wrong_scope.status, wrong_scope.code) == (403, "VERIFICATION_INVALID")
    assert wrong_scope.body["error"]["details"]["reason"] == "WRONG_OPERATION"
    update_token = v.token_for(c, "ACCOUNT_UPDATE")
    table = clean_stack.template.physical_name("VerificationsTable")
    ddb = boto3.client("dynamodb")
    tokens = ddb.scan(TableName=table, FilterExpression="begins_with(pk, :t) AND operation = :op",
                      ExpressionAttributeValues={":t": {"S": "TOKEN#"}, ":op": {"S": "ACCOUNT_UPDATE"}})["Items"]
    assert len(tokens) == 1 and update_token not in json.dumps(tokens)  # stored keyed-hashed only
    ddb.update_item(TableName=table, Key={"pk": tokens[0]["pk"]}, UpdateExpression="SET expires_at = :past",
                    ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000000Z"}})  # time has passed
    expired = api.call("PATCH", "/accounts/me", {"phone": "+8613755556666"}, token=c.token, key="w2",
                       headers={"X-Verification-Token": update_token})
    assert (expired.status, expired.body["error"]["details"]["reason"]) == (403, "EXPIRED")
    forged = api.call("PATCH", "/accounts/me", {"phone": "+8613755556666"}, token=c.token, key="w3",
                      headers={"X-Verification-Token": "vt_" + "A" * 43})
    assert (forged.status, forged.code) == (403, "VERIFICATION_INVALID")
    stolen = api.call("PATCH", "/accounts/me", {"phone": "+8613755556666"}, token=payee.token, key="w4",
                      headers={"X-Verification-Token": payment_token})
    assert (stolen.status, stolen.body["error"]["details"]["reason"]) == (403, "UNKNOWN")


def test_large_transfer_runs_the_decision_then_needs_a_bound_token(v: VerificationApi, api: Api) -> None:
    payer = v.customer(balance=5_000_000)
    payee, other = v.customer(), v.customer()
    body = {"to_account_id": payee.account_id, "amount": {"amount": 680_000, "currency": "CNY"}, "note": "rent"}
    key = str(uuid.uuid4())
    refused = api.call("POST", "/transfers", body, token=payer.token, key=key, headers=payer.headers)
    assert (refused.status, refused.code) == (403, "VERIFICATION_REQUIRED"), refused.body
    details = refused.body["error"]["details"]
    assert details["methods"] == ["SMS_OTP"] and details["verification_id"].startswith("ver_")
    assert api.balance(payer) == 5_000_000
    vid = details["verification_id"]
    assert v.send_otp(payer, vid).status == 200
    token = v.attempt(payer, vid, method="SMS_OTP", otp=v.code(payer.phone)).body["token"]
    # dynamic linking: not another amount, not another payee
    more = api.call("POST", "/transfers", {**body, "amount": {"amount": 680_001, "currency": "CNY"}},
                    token=payer.token, key=str(uuid.uuid4()), headers={"X-Verification-Token": token})
    assert (more.status, more.code) == (403, "VERIFICATION_INVALID")
    elsewhere = api.call("POST", "/transfers", {**body, "to_account_id": other.account_id}, token=payer.token,
                         key=str(uuid.uuid4()), headers={"X-Verification-Token": token})
    assert (elsewhere.status, elsewhere.code) == (403, "VERIFICATION_INVALID")
    # the refused request was not stored by idempotency: the retry reuses its key
    paid = api.call("POST", "/transfers", body, token=payer.token, key=key, headers={"X-Verification-Token": token})
    assert paid.status == 201, paid.body
    assert api.balance(payer) == 5_000_000 - 680_000 and api.balance(payee) == 680_000
    again = api.call("POST", "/transfers", body, token=payer.token, key=key, headers={"X-Verification-Token": token})
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    replay = api.call("POST", "/transfers", body, token=payer.token, key=str(uuid.uuid4()),
                      headers={"X-Verification-Token": token})
    assert (replay.status, replay.code) == (403, "VERIFICATION_INVALID")
    assert api.balance(payer) == 5_000_000 - 680_000


def test_small_transfers_behave_as_before(v: VerificationApi, api: Api) -> None:
    payer, payee = v.customer(balance=1_000_000), v.customer()
    reply = api.call("POST", "/transfers", {"to_account_id": payee.account_id,
                                            "amount": {"amount": 499_999, "currency": "CNY"}},
                     token=payer.token, key="small")
    assert reply.status == 201 and api.balance(payee) == 499_999


def test_verification_free_payment_with_its_recorded_rule(v: VerificationApi, api: Api, clean_stack: LocalStack,
                                                          binding: BindingFixture) -> None:
    c = v.customer(balance=100_000)
    payee = v.customer()
    v.age_account(c, days=60)  # an established customer ...
    assert api.call("POST", "/transfers", {"to_account_id": payee.account_id,  # ... who paid this payee before
                                           "amount": {"amount": 1_000, "currency": "CNY"}},
                    token=c.token, key="earlier").status == 201
    here = {"lat": 31.23, "lon": 121.47}
    session = v.sign_in(c, geo=here)  # signs in on a new device: the profile knows it, untrusted
    assert session["decision"]["decision"] == "CHALLENGE" and "NEW_DEVICE" in session["decision"]["reasons"]
    v.age_devices(c, days=60)  # (the phone they have used for two months: the model weighs the device's age)

    def pay() -> Reply:
        return v.trigger(c, "PAYMENT", amount={"amount": 50_000, "currency": "CNY"},
                         payee_account_id=payee.account_id, geo=here)

    first = pay()  # above the low-value line, on an untrusted device: no rule exempts it
    assert first.body["decision"] == "CHALLENGE" and first.body["exemption"] is None, first.body
    assert "UNTRUSTED_DEVICE" in first.body["risk"]["account"]["reasons"]
    v.send_otp(c, first.body["verification_id"])
    assert v.attempt(c, first.body["verification_id"], method="SMS_OTP",
                     otp=v.code(c.phone)).body["result"] == "PASSED"  # the payee is now verified
    weakly = pay()
    assert weakly.body["decision"] == "CHALLENGE"  # a weak pass does not make the device trusted
    assert [d["trusted"] for d in v.profile(c)["devices"]] == [False]
    v.strong_pass(c, binding, minutes_ago=60)  # a strong verification (CARD) on this device, an hour ago
    assert [d["trusted"] for d in v.profile(c)["devices"]] == [True]
    reply = pay()
    assert reply.status == 201 and reply.body["decision"] == "VERIFICATION_FREE", json.dumps(reply.body)
    assert reply.body["exemption"]["rule"] == "TRUSTED_PAYEE"
    assert reply.body["token"].startswith("vt_")
    assert reply.body["exemption"]["model_score"] >= reply.body["exemption"]["model_threshold"]
    assert reply.body["status"] == "FREE" and reply.body["methods"] == []
    audit = api.call("GET", f"/admin/verification-decisions?user_id={c.sub}", token=api.token("ops", "admin"))
    assert audit.body["items"][0]["exemption"] == reply.body["exemption"]  # the rule and the score, recorded


def test_otp_brute_force_locks_and_the_lockout_answers_429(v: VerificationApi) -> None:
    c = v.customer()
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    assert v.send_otp(c, vid).status == 200
    code = v.code(c.phone)
    wrong = "000000" if code != "000000" else "111111"
    results = [v.attempt(c, vid, method="SMS_OTP", otp=wrong).body for _ in range(5)]
    assert [r["result"] for r in results] == ["FAILED"] * 4 + ["LOCKED"]
    assert [r["tries_left"] for r in results] == [4, 3, 2, 1, 0]
    late = v.attempt(c, vid, method="SMS_OTP", otp=code)
    assert (late.status, late.code) == (429, "TOO_MANY_ATTEMPTS") and int(late.headers["Retry-After"]) > 0
    locked_out = v.trigger(c, "ACCOUNT_UPDATE")
    assert locked_out.status == 429 and 0 < int(locked_out.headers["Retry-After"]) <= 900


def test_otp_reuse_resend_and_expiry(v: VerificationApi, clean_stack: LocalStack) -> None:
    c = v.customer()
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    v.send_otp(c, vid)
    first = v.code(c.phone)
    wrong = "000000" if first != "000000" else "111111"
    assert v.attempt(c, vid, method="SMS_OTP", otp=wrong).body["tries_left"] == 4
    too_soon = v.send_otp(c, vid)
    assert (too_soon.status, too_soon.code) == (429, "TOO_MANY_ATTEMPTS") and too_soon.headers["Retry-After"]
    # the code's expiry is checked in the write: move it into the past instead of waiting 5 minutes
    table = clean_stack.template.physical_name("VerificationsTable")
    boto3.client("dynamodb").update_item(
        TableName=table, Key={"pk": {"S": f"VER#{vid}"}}, UpdateExpression="SET otp_expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000000Z"}})
    expired = v.attempt(c, vid, method="SMS_OTP", otp=first)
    assert expired.body["result"] == "FAILED" and expired.body["tries_left"] == 3
    fresh = v.customer()  # (c's failures now count in its risk: a new customer for the reuse check)
    passed_vid = v.trigger(fresh, "ACCOUNT_UPDATE").body["verification_id"]
    v.send_otp(fresh, passed_vid)
    code = v.code(fresh.phone)
    assert v.attempt(fresh, passed_vid, method="SMS_OTP", otp=code).body["result"] == "PASSED"
    reuse = v.attempt(fresh, passed_vid, method="SMS_OTP", otp=code)
    assert (reuse.status, reuse.code) == (409, "VERIFICATION_NOT_OPEN")


def test_a_passed_attempts_replay_does_not_return_the_token(v: VerificationApi) -> None:
    c = v.customer()
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    v.send_otp(c, vid)
    answer = {"method": "SMS_OTP", "otp": v.code(c.phone)}
    first = v.attempt(c, vid, key="once", **answer)
    assert first.body["token"].startswith("vt_")
    replay = v.attempt(c, vid, key="once", **answer)
    assert replay.status == 200 and replay.body["result"] == "PASSED" and replay.body["token"] is None
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_payment_password_first_then_change_with_a_token(v: VerificationApi, api: Api) -> None:
    c = v.customer()
    v.age_account(c, days=10)  # (a new account, a new device and a fresh password together are HIGH risk)
    first = api.call("PUT", "/me/payment-password", {"password": "862731"}, token=c.token, key="pw1")
    assert first.status == 200 and first.body["changed"] is False
    change = api.call("PUT", "/me/payment-password", {"password": "917364"}, token=c.token, key="pw2")
    assert (change.status, change.code) == (403, "VERIFICATION_REQUIRED")
    token = v.token_for(c, "ACCOUNT_UPDATE")
    changed = api.call("PUT", "/me/payment-password", {"password": "917364"}, token=c.token, key="pw3",
                       headers={"X-Verification-Token": token})
    assert changed.status == 200 and changed.body["changed"] is True
    trigger = v.trigger(c, "ACCOUNT_UPDATE")
    assert "PASSWORD" in trigger.body["methods"]
    ok = v.attempt(c, trigger.body["verification_id"], method="PASSWORD", password="917364")
    assert ok.body["result"] == "PASSED"
    weak = api.call("PUT", "/me/payment-password", {"password": "111111"}, token=c.token, key="pw4",
                    headers={"X-Verification-Token": token})
    assert (weak.status, weak.code) == (422, "INVALID_PASSWORD")


def test_another_users_verification_is_not_found(v: VerificationApi, api: Api) -> None:
    alice, mallory = v.customer(), v.customer()
    vid = v.trigger(alice, "ACCOUNT_UPDATE").body["verification_id"]
    for reply in (api.call("GET", f"/verifications/{vid}", token=mallory.token), v.send_otp(mallory, vid),
                  v.attempt(mallory, vid, method="SMS_OTP", otp="123456")):
        assert (reply.status, reply.code) == (404, "VERIFICATION_NOT_FOUND"), reply.body


def test_feedback_by_a_reviewer_not_a_party(v: VerificationApi, api: Api) -> None:
    c = v.customer()
    vid = v.trigger(c, "LOGIN").body["verification_id"]
    reviewer = api.token("risk-ops", "reviewer")
    labelled = api.call("POST", f"/admin/verification-decisions/{vid}/feedback",
                        {"label": "LEGITIMATE", "note": "known customer"}, token=reviewer, key="l1")
    assert labelled.status == 200 and labelled.body["label"] == "LEGITIMATE"
    self_review = api.call("POST", f"/admin/verification-decisions/{vid}/feedback", {"label": "LEGITIMATE"},
                           token=api.token(c.sub, "reviewer"), key="l2")
    assert (self_review.status, self_review.code) == (403, "SELF_REVIEW")
    plain = api.call("POST", f"/admin/verification-decisions/{vid}/feedback", {"label": "FRAUD"}, token=c.token,
                     key="l3")
    assert plain.status == 403
    missing = api.call("POST", "/admin/verification-decisions/ver_nope/feedback", {"label": "FRAUD"},
                       token=reviewer, key="l4")
    assert missing.status == 404
    for bad in ({"label": "FRAUD", "note": "ok\u202eevil"}, {"label": "FRAUD", "note": "x" * 141},
                {"label": "FRAUD", "note": "line\nbreak"}, {"label": "MAYBE"}):
        reply = api.call("POST", f"/admin/verification-decisions/{vid}/feedback", bad, token=reviewer,
                         key=str(uuid.uuid4()))
        assert reply.status == 422, (bad, reply.body)
    record = api.call("GET", f"/admin/verification-decisions?user_id={c.sub}", token=reviewer).body["items"][0]
    assert record["label"] == "LEGITIMATE" and record["label_note"] == "known customer"  # unchanged


def test_bad_input_is_a_4xx_and_changes_nothing(v: VerificationApi, api: Api, clean_stack: LocalStack) -> None:
    c = v.customer()
    table = clean_stack.template.physical_name("VerificationsTable")
    before = boto3.client("dynamodb").scan(TableName=table)["Count"]
    cases = [
        {"operation": "WIRE", "context": {"device_id": "d", "network": "WIFI"}},
        {"operation": "PAYMENT", "context": {"device_id": "d", "network": "WIFI"}},  # payments are bound
        {"operation": "LOGIN", "context": {"device_id": "d\u202e", "network": "WIFI"}},
        {"operation": "LOGIN", "context": {"device_id": "d" * 129, "network": "WIFI"}},
        {"operation": "LOGIN", "context": {"device_id": "d", "network": "WIFI", "geo": {"lat": 91, "lon": 0}}},
        {"operation": "LOGIN", "context": {"device_id": "d", "network": "WIFI", "extra": 1}},
        {"operation": "LOGIN", "context": {"device_id": "d", "network": "WIFI", "face_image": "***"}},
        {"operation": "PAYMENT", "context": {"device_id": "d", "network": "WIFI", "payee_account_id": "x",
                                             "amount": {"amount": 1.5, "currency": "CNY"}}},
    ]
    for body in cases:
        reply = api.call("POST", "/verifications", body, token=c.token, key=str(uuid.uuid4()))
        assert reply.status == 422, (body, reply.body)
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    for answer in ({"method": "SMS_OTP", "otp": "12345"}, {"method": "SMS_OTP", "otp": "12345a"},
                   {"method": "SMS_OTP"}, {"method": "SMS_OTP", "otp": "123456", "password": "x"},
                   {"method": "CARD", "card": {"last4": "42", "id_number": "110101199003077777"}},
                   {"method": "FACE", "face_image": "AAAA"}, {"method": "PIN", "pin": "1"}):
        reply = v.attempt(c, vid, **answer)
        assert reply.status == 422, (answer, reply.body)
    offered = v.attempt(c, vid, method="PASSWORD", password="862731")
    assert (offered.status, offered.code) == (422, "METHOD_NOT_OFFERED")
    bad_header = api.call("POST", "/verifications", {"operation": "LOGIN", "context": {"device_id": "d",
                                                                                       "network": "WIFI"}},
                          token=c.token, key=str(uuid.uuid4()), headers={"X-Device-Id": "x" * 200})
    assert bad_header.status == 422
    login = {"operation": "LOGIN", "context": {"device_id": "d", "network": "WIFI"}}
    unkeyed = api.call("POST", "/verifications", login, token=c.token)
    assert unkeyed.code == "IDEMPOTENCY_KEY_REQUIRED"
    assert api.call("PATCH", "/accounts/me", {"phone": "13800000000"}, token=c.token, key="b1").status == 422
    assert api.call("POST", "/accounts/me/phone/confirmation", {"otp": "123456"}, token=c.token,
                    key="b2").code == "PHONE_CHANGE_NOT_FOUND"
    assert api.call("PUT", "/me/payment-password", {"password": "12\u202e3456"}, token=c.token,
                    key="b3").status == 422
    assert api.call("GET", "/admin/verification-decisions?user_id=a%20b",
                    token=api.token("ops", "admin")).status == 422
    missing = api.call("GET", "/admin/verification-decisions", token=api.token("ops", "admin"))
    assert (missing.status, missing.code) == (422, "INVALID_INPUT")  # (after the role: 403 for anyone else)
    assert api.call("GET", "/admin/verification-decisions", token=c.token).status == 403
    assert api.call("GET", f"/admin/verification-decisions?user_id={c.sub}&next_token=garbage",
                    token=api.token("ops", "admin")).code == "INVALID_NEXT_TOKEN"
    after = boto3.client("dynamodb").scan(TableName=table)["Count"]
    assert after == before + 1  # only the one valid trigger was recorded


def test_the_outbox_is_local_and_validates_its_query(v: VerificationApi, api: Api) -> None:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"{api.base}/local/outbox?phone=123", timeout=10)
        raise AssertionError("expected 422")
    except urllib.error.HTTPError as exc:
        assert exc.code == 422
    c: Customer = v.customer()
    assert v.outbox(c.phone) == []


def test_no_secret_or_personal_data_in_any_log_line(v: VerificationApi, api: Api, binding: BindingFixture,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A whole flow with every secret the API takes or gives; then every log record (message and every extra
    field, before any redaction) and everything printed is scanned for each."""
    caplog.set_level(logging.DEBUG, logger="wallet")  # the functions' logger (Powertools, service "wallet")
    c = v.customer(balance=2_000_000)
    payee = v.customer()
    password, new_phone = "862731", "+8613788889999"
    v.age_account(c, days=10)
    login = v.sign_in(c)["decision"]  # a sign-in's LOGIN decision, a wrong card then the bound card
    binding.bind(c.sub)
    v.attempt(c, login["verification_id"], method="CARD", card={"last4": "6217", "id_number": "110101199003070000"})
    v.attempt(c, login["verification_id"], method="CARD", card={"last4": "6217", "id_number": "51010719900307002X"})
    binding.drop(c.sub)
    api.call("PUT", "/me/payment-password", {"password": password}, token=c.token, key="log-pw")
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    v.send_otp(c, vid)
    code = v.code(c.phone)
    v.attempt(c, vid, method="SMS_OTP", otp="000000" if code != "000000" else "111111")
    token = v.attempt(c, vid, method="SMS_OTP", otp=code).body["token"]
    api.call("PATCH", "/accounts/me", {"phone": new_phone}, token=c.token, key="log-ph",
             headers={"X-Verification-Token": token})
    new_code = v.code(new_phone)
    api.call("POST", "/accounts/me/phone/confirmation", {"otp": new_code}, token=c.token, key="log-cf")
    pay = v.trigger(c, "PAYMENT", amount={"amount": 600_000, "currency": "CNY"}, payee_account_id=payee.account_id)
    v.attempt(c, pay.body["verification_id"], method="PASSWORD", password=password)
    card = v.attempt(c, pay.body["verification_id"], method="CARD",
                     card={"last4": "4242", "id_number": "11010119900307777X"})
    assert card.status in (409, 422)  # passed already, or not offered (no binding): refused
    v.trigger(c, "LOGIN", face_image="aGVsbG8gZmFjZQ==")
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith("wallet"))
    assert "verification decided" in logs and "verification passed" in logs  # the logs were captured
    assert "activity profile not updated" not in logs  # the profile writes went through
    for secret in (password, code, new_code, token, c.phone, new_phone, "11010119900307777X", "aGVsbG8gZmFjZQ==",
                   "110101199003070000", "51010719900307002X"):
        assert secret not in logs, f"found a secret in the logs: {secret[:3]}..."
