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
claim (what the bank's registration will do for them).
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

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}


class Journey:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
        self.sub = f"customer-{uuid.uuid4().hex[:8]}"
        self.token = ""
        self.account_id = ""

    # --- step 1 (stand-in until issue 13): the customer's account, registered with their phone --------------
    def register(self) -> None:
        reply = self.api.call("POST", "/accounts", {}, token=tokens.issue(self.sub, phone_number=self.phone),
                              key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        self.account_id = reply.body["account_id"]

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
        return reply.body  # type: ignore[no-any-return]

    def transfer(self, to_account_id: str, amount: int) -> None:
        reply = self.api.call("POST", "/transfers", {"to_account_id": to_account_id,
                                                     "amount": {"amount": amount, "currency": "CNY"}},
                              token=self.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body


@pytest.fixture
def journey(api: Api) -> Journey:
    j = Journey(api)
    j.register()
    return j


def test_step_1_bank_registers_the_customer_and_binds_a_card() -> None:
    pytest.skip("issue 13: bank binding (SPEC §6)")


def test_step_2_the_customer_signs_in_with_their_phone_on_a_new_device(journey: Journey) -> None:
    session = journey.sign_in_with_phone("journey-phone-1")
    assert session["session_id"].startswith("ses_")
    assert session["device"] == {"device_id": "journey-phone-1", "trusted": False} and session["new_device"]
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["new_device"] is False and again["device"]["trusted"] is False  # trust is §4's decision


def test_step_3_first_use_asks_for_a_strong_method() -> None:
    pytest.skip("issue 12: adaptive verification (SPEC §4)")


def test_step_4_real_name_authentication_proposes_the_identity() -> None:
    pytest.skip("issue 11: real-name authentication with face (SPEC §5)")


def test_step_5_a_large_transfer_runs_the_inline_decision() -> None:
    pytest.skip("issue 12: adaptive verification (SPEC §4)")


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
