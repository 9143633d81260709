"""Invariants under concurrency, against the serialized emulator over HTTP: the low-value counters, the tries of a
challenge, a token's single use with money, the phone claims."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from local_stack import LocalStack
from tests.conftest import Api, Reply
from tests.fakes.bindings import BindingFixture
from tests.verification.conftest import VerificationApi

WORKERS = 8


def parallel(n: int, call: Any) -> list[Reply]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda _: call(), range(n)))


def test_concurrent_low_value_exemptions_never_exceed_the_counters(v: VerificationApi, api: Api,
                                                                  clean_stack: LocalStack,
                                                                  binding: BindingFixture) -> None:
    c = v.customer(balance=200_000)
    payee = v.customer()
    v.age_account(c, days=60)
    # an earlier payment of the usual size (100.00 is not an unusual amount for this customer)
    assert api.call("POST", "/transfers", {"to_account_id": payee.account_id,
                                           "amount": {"amount": 10_000, "currency": "CNY"}}, token=c.token,
                    key="seed").status == 201
    api.stack.drain_streams(timeout=20)
    here = {"lat": 31.23, "lon": 121.47}
    v.sign_in(c, geo=here)  # the device, network and place are the profile's
    v.age_devices(c, days=60)
    v.strong_pass(c, binding, minutes_ago=600)  # trusted device (CARD), but no recent strong verification
    # a payee never verified and no position (so not the usual context): only LOW_VALUE can exempt, within 5
    # payments / 770.00 since the last verification (the seed transfer counts too once projected)
    replies = parallel(16, lambda: v.trigger(c, "PAYMENT", amount={"amount": 10_000, "currency": "CNY"},
                                             payee_account_id=payee.account_id))
    assert all(r.status == 201 for r in replies), [r.body for r in replies if r.status != 201]
    free = [r for r in replies if r.body["decision"] == "VERIFICATION_FREE"]
    assert free and all(r.body["exemption"]["rule"] == "LOW_VALUE" for r in free), [r.body for r in free]
    # the seed counts since the verification (same day, from the profile): at most 4 more, 670.00
    assert len(free) <= 4 and 10_000 + len(free) * 10_000 <= 77_000
    history = boto3.client("dynamodb").get_item(
        TableName=clean_stack.template.physical_name("VerificationsTable"), Key={"pk": {"S": f"HIST#{c.sub}"}},
        ConsistentRead=True)["Item"]
    assert int(history["exempt_count"]["N"]) == len(free)
    assert int(history["exempt_amount"]["N"]) == 10_000 * len(free)


def test_concurrent_wrong_codes_use_each_try_once(v: VerificationApi, clean_stack: LocalStack) -> None:
    c = v.customer()
    vid = v.trigger(c, "ACCOUNT_UPDATE").body["verification_id"]
    v.send_otp(c, vid)
    code = v.code(c.phone)
    wrong = "000000" if code != "000000" else "111111"
    replies = parallel(12, lambda: v.attempt(c, vid, method="SMS_OTP", otp=wrong))
    # Every reply is a processed try (200), the lockout (429), or the platform's contention answer: an attempt
    # that lost its version race STALE_RETRIES times in a row answers 503 TEMPORARILY_UNAVAILABLE (safe to retry;
    # it used no try). Nothing else.
    others = [(r.status, r.code) for r in replies if r.status != 200]
    assert all(o in {(429, "TOO_MANY_ATTEMPTS"), (503, "TEMPORARILY_UNAVAILABLE")} for o in others), others
    processed = [r.body for r in replies if r.status == 200]
    # each try used once: the tries left count down without a repeat, whoever won which race
    assert sorted(b["tries_left"] for b in processed) == list(range(5 - len(processed), 5))
    # the ones that answered 503 are retried one by one until the verification locks: 5 tries in all, never more
    while len(processed) < 5:
        again = v.attempt(c, vid, method="SMS_OTP", otp=wrong)
        assert again.status == 200, (again.status, again.body)
        processed.append(again.body)
    assert sorted(b["result"] for b in processed) == ["FAILED"] * 4 + ["LOCKED"], processed
    assert v.attempt(c, vid, method="SMS_OTP", otp=code).status == 429  # the right code no longer helps
    item = boto3.client("dynamodb").get_item(TableName=clean_stack.template.physical_name("VerificationsTable"),
                                             Key={"pk": {"S": f"VER#{vid}"}}, ConsistentRead=True)["Item"]
    assert item["tries"]["N"] == "5" and item["status"]["S"] == "LOCKED"


def test_one_payment_token_pays_once_under_concurrency(v: VerificationApi, api: Api) -> None:
    payer = v.customer(balance=5_000_000)
    payee = v.customer()
    amount = {"amount": 700_000, "currency": "CNY"}
    token = v.token_for(payer, "PAYMENT", amount=amount, payee_account_id=payee.account_id)
    body = {"to_account_id": payee.account_id, "amount": amount}
    replies = parallel(10, lambda: api.call("POST", "/transfers", body, token=payer.token, key=str(uuid.uuid4()),
                                            headers={"X-Verification-Token": token}))
    assert sorted(r.status for r in replies) == [201] + [403] * 9, [r.body for r in replies]
    assert api.balance(payer) == 5_000_000 - 700_000 and api.balance(payee) == 700_000


def test_two_accounts_racing_for_one_new_phone(v: VerificationApi, api: Api) -> None:
    a, b = v.customer(), v.customer()
    target = "+8613766667777"
    for c in (a, b):
        token = v.token_for(c, "ACCOUNT_UPDATE")
        assert api.call("PATCH", "/accounts/me", {"phone": target}, token=c.token, key=f"ph-{c.sub}",
                        headers={"X-Verification-Token": token}).status == 202
    codes = {}
    for message in v.outbox(target):  # newest first: b's code, then a's
        codes.setdefault(len(codes), message["text"])
    code_b, code_a = (next(w for w in t.replace(".", " ").split() if w.isdigit() and len(w) == 6)
                      for t in (codes[0], codes[1]))
    with ThreadPoolExecutor(2) as pool:
        ra, rb = pool.map(lambda pair: api.call("POST", "/accounts/me/phone/confirmation", {"otp": pair[1]},
                                                token=pair[0].token, key=str(uuid.uuid4())),
                          [(a, code_a), (b, code_b)])
    outcomes = sorted([(ra.status, ra.code or ra.body.get("result")), (rb.status, rb.code or rb.body.get("result"))])
    assert outcomes == [(200, "PASSED"), (409, "PHONE_IN_USE")], outcomes
    phones = [api.call("GET", "/accounts/me", token=c.token).body["phone"] for c in (a, b)]
    assert sum(p == "+86137****7777" for p in phones) == 1
