"""One journey, tested end to end (../shared/CONTRACTS.md): the local API driven as the apps would. Steps run in
order on one stack (module scope: ``make test`` runs a file in one worker).

1. a bank registers a new customer and binds a card (§6);
2. the customer signs in with their phone on a new device (phone sign-in: §6; sessions: signals);
3. the first operation asks for BINDING_FIRST_USE; a strong method (CARD or FACE) passes (§4);
4. real-name authentication proposes the identity, the customer confirms (§5);
5. a large transfer runs the inline decision and succeeds with a payment token bound to it (§4);
6. the activity profile shows the devices, sign-ins, transfers and the binding (signals), and the identity model
   scores the customer from them (§3).

Steps not yet built are skipped with the name of the issue that adds them; each issue extends ``Journey`` with
its step and replaces the skip. Until step 3 exists, ``Journey.first_use_stand_in`` lifts the first-use gate
through the port §4 will call (``shared.binding.ports.FirstUseGatePort.clear``) with a passed strong
verification, so that the later steps can move money.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack import LocalStack, tokens
from shared.binding import wiring
from shared.binding.models import PassedVerification
from shared.binding.settings import BindingSettings
from tests.binding.conftest import (
    Bank,
    CallbackServer,
    card_token,
    create_partner,
    forget_data_keys,
    phone,
    stop_running,
)
from tests.conftest import Api

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}


class Journey:
    def __init__(self, api: Api, bank: Bank) -> None:
        self.api = api
        self.bank = bank
        self.phone = phone()
        self.card = card_token()
        self.token = ""
        self.sub = ""
        self.account_id = ""

    def require(self, what: str) -> None:
        if not getattr(self, what):
            pytest.skip(f"an earlier step did not complete ({what})")

    # --- step 2: sign in with the phone on a new device ---------------------------------------------------
    def sign_in_with_phone(self, device_id: str, network: str = "CELLULAR") -> dict[str, Any]:
        req = urllib.request.Request(self.api.base + "/local/token", data=json.dumps({"phone_number": self.phone})
                                     .encode(), headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["token"]
        self.sub = tokens.verify(self.token)["sub"]
        reply = self.api.call("POST", "/sessions", {"device_id": device_id, "network": network, "client": ANDROID,
                                                    "geo": {"lat": 30.5728, "lon": 104.0668}},
                              token=self.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    def transfer(self, to_account_id: str, amount: int) -> Any:
        return self.api.call("POST", "/transfers", {"to_account_id": to_account_id,
                                                    "amount": {"amount": amount, "currency": "CNY"}},
                             token=self.token, key=str(uuid.uuid4()))

    # --- stand-in for step 3 until issue 12 (§4) wires its BINDING_FIRST_USE verification -------------------
    def first_use_stand_in(self) -> None:
        env = self.api.stack.registry.environment("UnbindFunction")
        gate = wiring.first_use_gate(BindingSettings.model_validate({k.lower(): v for k, v in env.items()}))
        if gate.is_required(self.sub):
            assert gate.clear(PassedVerification(owner=self.sub, operation="BINDING_FIRST_USE", method="CARD",
                                                 strength="STRONG", verification_id="ver_journey_stand_in"))


@pytest.fixture(scope="module")
def journey(stack: LocalStack) -> Iterator[Journey]:
    stack.reset()
    forget_data_keys()
    callbacks = CallbackServer().start()
    api = Api(stack)
    yield Journey(api, create_partner(api, callbacks, "Journey Bank"))
    stop_running(stack)
    callbacks.stop()
    forget_data_keys()
    denials = stack.iam.take_denials()
    assert not denials, f"calls refused by the template's policies: {denials}"


def test_step_1_bank_registers_the_customer_and_binds_a_card(journey: Journey) -> None:
    bank = journey.bank
    reply = bank.request(journey.phone, journey.card, name="Wang Fang")
    assert reply.status == 202, reply.body
    rid = reply.body["binding_request_id"]
    awaiting = bank.wait(rid, "AWAITING_BANK")
    assert awaiting["account_id"] and awaiting["confirm_by"]
    assert bank.callbacks.received or bank.get(rid).body["account_id"]  # pushed, or polled
    assert bank.confirm(rid, awaiting["account_id"], journey.card).status == 202
    bound = bank.wait(rid, "BOUND")
    journey.account_id = bound["account_id"]


def test_step_2_the_customer_signs_in_with_their_phone_on_a_new_device(journey: Journey) -> None:
    journey.require("account_id")
    session = journey.sign_in_with_phone("journey-phone-1")
    assert session["session_id"].startswith("ses_")
    assert session["device"] == {"device_id": "journey-phone-1", "trusted": False} and session["new_device"]
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["new_device"] is False and again["device"]["trusted"] is False  # trust is §4's decision
    api = journey.api
    me = api.call("GET", "/accounts/me", token=journey.token).body
    assert me["account_id"] == journey.account_id and me["status"] == "ACTIVE"
    [binding] = api.call("GET", "/bindings", token=journey.token).body["items"]
    assert binding["bank_name"] == "Journey Bank" and binding["first_use_verified"] is False
    # The first operation is refused until the BINDING_FIRST_USE verification (step 3).
    friend = api.user()
    refused = journey.transfer(friend.account_id, 1)
    assert refused.status == 403 and refused.code == "SECURITY_AUTHENTICATION_REQUIRED", refused.body


def test_step_3_first_use_asks_for_a_strong_method() -> None:
    pytest.skip("issue 12: adaptive verification (SPEC §4)")


def test_step_4_real_name_authentication_proposes_the_identity() -> None:
    pytest.skip("issue 11: real-name authentication with face (SPEC §5)")


def test_step_5_a_large_transfer_runs_the_inline_decision() -> None:
    pytest.skip("issue 12: adaptive verification (SPEC §4)")


def test_step_6_the_profile_shows_the_journey_and_the_identity_model_scores_it(journey: Journey) -> None:
    journey.require("token")
    api = journey.api
    journey.first_use_stand_in()
    friend = api.user()
    api.deposit(journey.account_id, 50_000)
    journey.sign_in_with_phone("journey-laptop-2", network="WIFI")
    assert journey.transfer(friend.account_id, 2_600).status == 201
    assert journey.transfer(friend.account_id, 1_400).status == 201
    api.stack.drain_streams(timeout=20)
    # The activity profile shows the devices, the sign-ins, the transfers and the binding
    reply = api.call("GET", "/me/activity-profile", token=journey.token)
    assert reply.status == 200, reply.body
    profile = reply.body
    assert {d["device_id"] for d in profile["devices"]} == {"journey-phone-1", "journey-laptop-2"}
    assert profile["sign_ins"]["count"] == 3 and profile["sign_ins"]["by_network"] == {"CELLULAR": 2, "WIFI": 1}
    # (step 2's refused transfer is nowhere: a cancelled transaction never reaches the ledger's stream)
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["count_out"] == 2
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["amount_out"] == 4_000
    assert profile["activity"]["by_type"]["DEPOSIT"]["amount_in"] == 50_000
    # and the card the bank bound in step 1, its first use verified (trusted binding information for §5)
    assert profile["bindings"]["active"] == 1 and profile["bindings"]["first_use_pending"] is False
    assert profile["bindings"]["items"][0]["bank_name"] == "Journey Bank"
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
