"""Adaptive verification on the risk signals' activity profile, end to end over the local API, with every piece
of history made through the API: sign-ins (``POST /sessions``) get a LOGIN decision until a strong verification
passes on the device, which then is trusted in the profile; answered challenges are the profile's verification
history; impossible travel comes from the profile's last location and time; inactivity from its last activity;
the low-value counters add the profile's spend since the last verification."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.fakes.bindings import CARD, BindingFixture
from tests.verification.conftest import VerificationApi

CHENGDU = {"lat": 30.5728, "lon": 104.0668}
BEIJING = {"lat": 39.9042, "lon": 116.4074}


def test_a_new_device_is_asked_until_a_strong_verification_passes_on_it(v: VerificationApi, api: Api,
                                                                        binding: BindingFixture) -> None:
    c = v.customer()
    binding.bind(c.sub)
    first = v.sign_in(c)
    assert first["new_device"] and first["device"]["trusted"] is False
    decision = first["decision"]
    assert decision["decision"] == "CHALLENGE" and "NEW_DEVICE" in decision["reasons"], decision
    assert set(decision["methods"]) >= {"SMS_OTP", "CARD"}
    recorded = api.call("GET", f"/verifications/{decision['verification_id']}", token=c.token).body
    assert recorded["operation"] == "LOGIN" and recorded["decision"] == "CHALLENGE"
    # a weak pass (SMS OTP) answers the sign-in's challenge but does not make the device trusted
    v.send_otp(c, decision["verification_id"])
    weak = v.attempt(c, decision["verification_id"], method="SMS_OTP", otp=v.code(c.phone))
    assert weak.body["result"] == "PASSED" and weak.body["token"] is None  # a sign-in needs no token
    second = v.sign_in(c)
    assert second["device"]["trusted"] is False and "UNTRUSTED_DEVICE" in second["decision"]["reasons"]
    history = v.profile(c)["verification"]
    assert (history["attempts"], history["successes"], history["last_strong_at"]) == (1, 1, None)
    # a wrong card, then the right one: the failure and the strong pass are in the profile, the device trusted
    wrong = v.attempt(c, second["decision"]["verification_id"], method="CARD",
                      card={"last4": "0000", "id_number": "51010719900307002X"})
    assert wrong.body["result"] == "FAILED"
    strong = v.attempt(c, second["decision"]["verification_id"], method="CARD",
                       card={"last4": "6217", "id_number": "51010719900307002X"})
    assert strong.body["result"] == "PASSED", strong.body
    third = v.sign_in(c)
    assert third["device"]["trusted"] is True and third["decision"] is None
    profile = v.profile(c)
    assert profile["devices"][0]["trusted"] is True
    history = profile["verification"]
    assert (history["attempts"], history["successes"], history["failures"]) == (3, 2, 1)
    assert history["last_strong_at"] is not None and history["last_strong_at"] == history["last_passed_at"]
    # trust is per device: another phone is new again
    c.device = "dev-other-phone"
    assert "NEW_DEVICE" in v.sign_in(c)["decision"]["reasons"]


def test_impossible_travel_from_the_profiles_last_location(v: VerificationApi) -> None:
    c = v.customer()
    first = v.sign_in(c, geo=CHENGDU)
    assert "IMPOSSIBLE_TRAVEL" not in first["decision"]["reasons"]  # nothing to compare with yet
    # the same device in Beijing (about 1,500 km) moments later: the profile's last sign-in was in Chengdu
    jump = v.sign_in(c, geo=BEIJING)
    assert "IMPOSSIBLE_TRAVEL" in jump["decision"]["reasons"], jump["decision"]
    # and a trigger from Chengdu right after the Beijing sign-in
    trigger = v.trigger(c, "ACCOUNT_UPDATE", geo=CHENGDU)
    network = trigger.body["risk"]["network"]
    assert "IMPOSSIBLE_TRAVEL" in network["reasons"] and network["contributions"]["IMPOSSIBLE_TRAVEL"] > 0


def test_inactivity_is_the_profiles_days_since_the_last_activity(v: VerificationApi, api: Api) -> None:
    c = v.customer()
    v.age_account(c, days=400)  # opened 400 days ago and never used since
    v.sign_in(c)
    dormant = v.trigger(c, "ACCOUNT_UPDATE").body
    assert dormant["inactive"]["inactive"] is True and dormant["inactive"]["days_inactive"] >= 399
    assert "INACTIVE" in dormant["risk"]["account"]["reasons"]
    assert set(dormant["inactive"]["methods"]) >= {"SMS_OTP"}  # each weak method's own risk and threshold
    api.deposit(c.account_id, 10_000)  # ledger activity, projected into the profile from the stream
    api.stack.drain_streams(timeout=20)
    active = v.trigger(c, "ACCOUNT_UPDATE").body
    assert active["inactive"]["inactive"] is False and active["inactive"]["days_inactive"] < 1
    assert "INACTIVE" not in active["risk"]["account"]["reasons"]


def test_low_value_counters_add_the_profiles_spend_since_the_last_verification(
        v: VerificationApi, api: Api, binding: BindingFixture) -> None:
    c = v.customer(balance=200_000)
    shop, other = v.customer(), v.customer()
    v.age_account(c, days=60)
    v.sign_in(c)
    v.age_devices(c, days=60)  # the customer's phone for two months
    v.strong_pass(c, binding, minutes_ago=600)  # trusted device; the counters restart at this verification
    for n in range(3):  # three small transfers after it (below the inline line: no decision)
        reply = api.call("POST", "/transfers", {"to_account_id": shop.account_id,
                                                "amount": {"amount": 20_000, "currency": "CNY"}},
                         token=c.token, key=f"small-{n}-{c.sub}")
        assert reply.status == 201, reply.body
    api.stack.drain_streams(timeout=20)

    def pay() -> dict:  # type: ignore[type-arg]
        return v.trigger(c, "PAYMENT", amount={"amount": 10_000, "currency": "CNY"},  # type: ignore[no-any-return]
                         payee_account_id=other.account_id).body

    free = pay()
    assert free["decision"] == "VERIFICATION_FREE", (free["reasons"], free["model_score"], free["risk"])
    assert free["exemption"]["rule"] == "LOW_VALUE"
    assert free["exemption"]["detail"]["cumulative_after"] == 70_000  # 3 x 200.00 from the profile + 100.00
    assert free["exemption"]["detail"]["count_after"] == 4
    over = pay()  # 800.00 since the verification would pass the 770.00 limit
    assert over["decision"] == "CHALLENGE" and over["exemption"] is None, over
    assert "NOT_EXEMPT:NO_EXEMPTION_RULE_HOLDS" in over["reasons"]


@pytest.mark.parametrize("network", ["CELLULAR"])
def test_a_sign_in_from_a_trusted_device_still_records_the_session(v: VerificationApi, binding: BindingFixture,
                                                                   network: str) -> None:
    c = v.customer()
    v.sign_in(c, network=network)
    v.strong_pass(c, binding)
    again = v.sign_in(c, network=network)
    assert again["decision"] is None and again["device"]["trusted"] is True
    assert v.profile(c)["sign_ins"]["count"] == 2


def test_password_and_phone_changes_are_sensitive_changes_in_the_profile(v: VerificationApi, api: Api) -> None:
    """Setting the payment password and changing the phone record PASSWORD / PHONE in the activity profile
    (``SignalsWriter.record_sensitive_change``), where risk rules of every capability read them."""
    import boto3

    c = v.customer()
    table = v.stack.template.physical_name("SignalsTable")

    def changes() -> set[str]:
        item = boto3.client("dynamodb").get_item(TableName=table, ConsistentRead=True, Key={
            "pk": {"S": f"USER#{c.sub}"}, "sk": {"S": "PROFILE"}}).get("Item", {})
        return {k.removeprefix("chg#") for k in item if k.startswith("chg#")}

    assert changes() == set()
    token = v.token_for(c, "ACCOUNT_UPDATE")
    new_phone = "+8613755556666"
    assert api.call("PATCH", "/accounts/me", {"phone": new_phone}, token=c.token, key="ph-1",
                    headers={"X-Verification-Token": token}).status == 202
    done = api.call("POST", "/accounts/me/phone/confirmation", {"otp": v.code(new_phone)}, token=c.token, key="ph-2")
    assert done.status == 200 and done.body["result"] == "PASSED", done.body
    assert changes() == {"PHONE"}
    assert api.call("PUT", "/me/payment-password", {"password": "862731"}, token=c.token, key="pw-1").status == 200
    assert changes() == {"PHONE", "PASSWORD"}


def test_a_bank_bound_account_changes_nothing_before_first_use(v: VerificationApi, api: Api,
                                                               binding: BindingFixture) -> None:
    """While the first-use gate is up, the phone change and the payment password answer 403
    SECURITY_AUTHENTICATION_REQUIRED before the token is consumed; BINDING_FIRST_USE (CARD) lifts it."""
    c = v.customer()
    token = v.token_for(c, "ACCOUNT_UPDATE")
    binding.bind(c.sub, gated=True)
    refused = api.call("PATCH", "/accounts/me", {"phone": "+8613755557777"}, token=c.token, key="g-1",
                       headers={"X-Verification-Token": token})
    assert (refused.status, refused.code) == (403, "SECURITY_AUTHENTICATION_REQUIRED"), refused.body
    pw = api.call("PUT", "/me/payment-password", {"password": "862731"}, token=c.token, key="g-2")
    assert (pw.status, pw.code) == (403, "SECURITY_AUTHENTICATION_REQUIRED"), pw.body
    first = v.trigger(c, "BINDING_FIRST_USE").body
    assert first["methods"] == ["CARD"], first
    passed = v.attempt(c, first["verification_id"], method="CARD", card=CARD)
    assert passed.body["result"] == "PASSED" and passed.body["gate_cleared"] is True, passed.body
    assert not binding.is_required(c.sub) and binding.cleared_at(c.sub) is not None
    # the token was kept: the phone change goes through now
    assert api.call("PATCH", "/accounts/me", {"phone": "+8613755557777"}, token=c.token, key="g-3",
                    headers={"X-Verification-Token": token}).status == 202
