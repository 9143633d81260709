"""One journey, tested end to end (../shared/CONTRACTS.md): the local API driven as the apps would.

1. a bank registers a new customer and binds a card (§6);
2. the customer signs in with their phone on a new device (sessions);
3. the first operation asks for BINDING_FIRST_USE; a strong method (CARD or FACE) passes (§4);
4. real-name authentication proposes the identity, the customer confirms (§5);
5. a large transfer runs the inline decision and succeeds with a payment token bound to it (§4);
6. the activity profile shows the devices, sign-ins and transfers (signals), and the identity model scores the
   customer from them (§3).

Steps not yet built are skipped with the name of the issue that adds them; each issue extends ``Journey`` with
its step and replaces the skip. Until step 1 exists, the customer registers their own account with the phone
claim (what the bank's registration will do for them), and the card binding and its first-use gate are the
``BindingFixture`` of CONTRACTS.md, installed in place of verification's "no binding" adapters.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest

from local_stack import tokens
from tests.conftest import Api
from tests.fakes.bindings import CARD, BindingFixture, install

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}


class Journey:
    def __init__(self, api: Api, binding: BindingFixture) -> None:
        self.api = api
        self.binding = binding
        self.phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
        self.sub = f"customer-{uuid.uuid4().hex[:8]}"
        self.token = ""
        self.account_id = ""
        self.headers = {"X-Device-Id": "journey-phone-1", "X-Session-Id": f"ses_{uuid.uuid4().hex[:12]}"}

    # --- step 1 (stand-in until issue 13): the customer's account, registered with their phone --------------
    def register(self) -> None:
        self.token = tokens.issue(self.sub, phone_number=self.phone)
        reply = self.api.call("POST", "/accounts", {}, token=self.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        self.account_id = reply.body["account_id"]

    def bind_card(self) -> None:
        self.binding.bind(self.sub, gated=True)

    # --- step 2: sign in with the phone on a new device ---------------------------------------------------
    def sign_in_with_phone(self, device_id: str, network: str = "CELLULAR") -> dict[str, Any]:
        req = urllib.request.Request(self.api.base + "/local/token", data=json.dumps({"phone_number": self.phone})
                                     .encode(), headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["token"]
        reply = self.api.call("POST", "/sessions", {"device_id": device_id, "network": network, "client": ANDROID,
                                                    "geo": {"lat": 30.5728, "lon": 104.0668}},
                              token=self.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        self.headers = {"X-Device-Id": device_id, "X-Session-Id": reply.body["session_id"]}
        return reply.body  # type: ignore[no-any-return]

    def transfer(self, to_account_id: str, amount: int) -> None:
        reply = self.api.call("POST", "/transfers", {"to_account_id": to_account_id,
                                                     "amount": {"amount": amount, "currency": "CNY"}},
                              token=self.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body

    # --- step 3 and 5: adaptive verification (issue 12) ------------------------------------------------------
    def trigger(self, operation: str, **context: Any) -> dict[str, Any]:
        reply = self.api.call("POST", "/verifications", {"operation": operation, "context": {
            "device_id": self.headers["X-Device-Id"], "network": "CELLULAR", **context}},
            token=self.token, key=str(uuid.uuid4()), headers=self.headers)
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    def attempt(self, verification_id: str, **answer: Any) -> Any:
        return self.api.call("POST", f"/verifications/{verification_id}/attempts", answer, token=self.token,
                             key=str(uuid.uuid4()))

    def sms_code(self) -> str:
        url = f"{self.api.base}/local/outbox?phone={urllib.request.quote(self.phone)}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            text = json.loads(resp.read())["messages"][0]["text"]
        return next(w for w in text.replace(".", " ").split() if w.isdigit() and len(w) == 6)


@pytest.fixture
def binding(monkeypatch: pytest.MonkeyPatch) -> BindingFixture:
    return install(monkeypatch)


@pytest.fixture
def journey(api: Api, binding: BindingFixture) -> Journey:
    j = Journey(api, binding)
    j.register()
    return j


def test_step_1_bank_registers_the_customer_and_binds_a_card() -> None:
    pytest.skip("issue 13: bank binding (SPEC §6)")


def test_step_2_the_customer_signs_in_with_their_phone_on_a_new_device(journey: Journey) -> None:
    session = journey.sign_in_with_phone("journey-phone-1")
    assert session["session_id"].startswith("ses_")
    assert session["device"] == {"device_id": "journey-phone-1", "trusted": False} and session["new_device"]
    # a new device: adaptive verification's LOGIN decision (§4) comes with the session
    decision = session["decision"]
    assert decision["decision"] == "CHALLENGE" and "NEW_DEVICE" in decision["reasons"], decision
    login = journey.api.call("GET", f"/verifications/{decision['verification_id']}", token=journey.token).body
    assert login["operation"] == "LOGIN" and login["methods"] == decision["methods"]
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["new_device"] is False and again["device"]["trusted"] is False  # trust is §4's decision
    assert again["decision"]["decision"] == "CHALLENGE" and "UNTRUSTED_DEVICE" in again["decision"]["reasons"]


def test_step_3_first_use_asks_for_a_strong_method(journey: Journey) -> None:
    journey.bind_card()
    journey.sign_in_with_phone("journey-phone-1")
    decision = journey.trigger("BINDING_FIRST_USE")
    assert decision["decision"] == "CHALLENGE" and decision["strength"] == "STRONG"
    assert decision["methods"] == ["CARD"]  # strong only: no enrolled face, SMS OTP and password never
    assert "STRONG_REQUIRED:BINDING_FIRST_USE" in decision["reasons"]
    vid = decision["verification_id"]
    weak = journey.attempt(vid, method="SMS_OTP", otp="123456")
    assert (weak.status, weak.code) == (422, "METHOD_NOT_OFFERED")
    wrong = journey.attempt(vid, method="CARD", card={**CARD, "id_number": "510107199003070000"})
    assert wrong.body["result"] == "FAILED" and wrong.body["tries_left"] == 4
    passed = journey.attempt(vid, method="CARD", card=CARD)
    assert passed.status == 200 and passed.body["result"] == "PASSED", passed.body
    assert passed.body["gate_cleared"] is True and passed.body["token"] is None  # the gate lifts by itself
    assert journey.binding.cleared == [vid] and not journey.binding.is_required(journey.sub)
    # the strong pass made the device trusted in the activity profile: the next sign-in asks nothing
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["device"]["trusted"] is True and again["decision"] is None, again
    profile = journey.api.call("GET", "/me/activity-profile", token=journey.token).body
    assert [d["trusted"] for d in profile["devices"] if d["device_id"] == "journey-phone-1"] == [True]
    history = profile["verification"]  # the answered challenges, written into the profile by §4
    assert (history["attempts"], history["successes"], history["failures"]) == (2, 1, 1)
    assert history["last_strong_at"] == history["last_passed_at"] is not None


def test_step_4_real_name_authentication_proposes_the_identity() -> None:
    pytest.skip("issue 11: real-name authentication with face (SPEC §5)")


def test_step_5_a_large_transfer_runs_the_inline_decision(journey: Journey, api: Api) -> None:
    journey.bind_card()
    journey.sign_in_with_phone("journey-phone-1")
    landlord = api.user()
    api.deposit(journey.account_id, 2_000_000)
    rent = {"to_account_id": landlord.account_id, "amount": {"amount": 880_000, "currency": "CNY"}, "note": "rent"}
    key = str(uuid.uuid4())
    refused = api.call("POST", "/transfers", rent, token=journey.token, key=key, headers=journey.headers)
    assert (refused.status, refused.code) == (403, "VERIFICATION_REQUIRED"), refused.body
    details = refused.body["error"]["details"]
    assert "CARD" in details["methods"] and api.balance(landlord) == 0
    passed = journey.attempt(details["verification_id"], method="CARD", card=CARD)
    assert passed.body["result"] == "PASSED", passed.body
    token = passed.body["token"]
    # bound to the amount and the payee: not a cent more
    more = api.call("POST", "/transfers", {**rent, "amount": {"amount": 880_001, "currency": "CNY"}},
                    token=journey.token, key=str(uuid.uuid4()), headers={"X-Verification-Token": token})
    assert (more.status, more.code) == (403, "VERIFICATION_INVALID")
    paid = api.call("POST", "/transfers", rent, token=journey.token, key=key,
                    headers={**journey.headers, "X-Verification-Token": token})
    assert paid.status == 201, paid.body
    assert api.balance(landlord) == 880_000 and api.balance(journey) == 2_000_000 - 880_000  # type: ignore[arg-type]
    # the device became trusted by the strong verification (§4 decides trust): recorded for the next decision
    decisions = api.call("GET", f"/admin/verification-decisions?user_id={journey.sub}",
                         token=api.token("risk-ops", "reviewer")).body["items"]
    assert decisions[0]["passed_method"] == "CARD" and decisions[0]["purpose"] == "TRANSFER"


def test_step_6_the_profile_shows_the_journey_and_the_identity_model_scores_it(journey: Journey, api: Api) -> None:
    friend = api.user()
    api.deposit(journey.account_id, 50_000)
    journey.sign_in_with_phone("journey-phone-1")
    journey.sign_in_with_phone("journey-laptop-2", network="WIFI")
    journey.transfer(friend.account_id, 2_600)
    journey.transfer(friend.account_id, 1_400)
    api.stack.drain_streams(timeout=20)
    # The activity profile shows the devices, the sign-ins and the transfers
    reply = api.call("GET", "/me/activity-profile", token=journey.token)
    assert reply.status == 200, reply.body
    profile = reply.body
    assert {d["device_id"] for d in profile["devices"]} == {"journey-phone-1", "journey-laptop-2"}
    assert profile["sign_ins"]["count"] == 2 and profile["sign_ins"]["by_network"] == {"CELLULAR": 1, "WIFI": 1}
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["count_out"] == 2
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["amount_out"] == 4_000
    assert profile["activity"]["by_type"]["DEPOSIT"]["amount_in"] == 50_000
    # And the identity model scores the customer from them (§3)
    started = api.call("POST", "/identity-verifications", {"identity_type": "student", "claimed": {
        "name": "Wang Fang", "school": "Sichuan University", "student_number": "SCU2025017"}},
        token=journey.token, key=str(uuid.uuid4()))
    assert started.status == 202, started.body
    deadline = time.monotonic() + 30
    while True:
        v = api.call("GET", f"/identity-verifications/{started.body['verification_id']}", token=journey.token).body
        if v["score"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert v["score"] is not None and 0.0 < v["score"] < 1.0, v
    assert v["model_version"].startswith("student-gbt-") and v["path"][0] == "model"
    assert v["missing_features"] == ["age_years"]  # everything else came from the journey; no real name yet
