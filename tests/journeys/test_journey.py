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
its step and replaces the skip. Step 3 lifts the first-use gate with a real §4 verification (the CARD method
against the binding of step 1), so the later steps can move money.
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
from local_stack.realname_demo import DEMO_IDENTITIES, seed_authority
from shared.realname.services.directory import mask_name
from tests.binding.conftest import (
    Bank,
    CallbackServer,
    card_token,
    create_partner,
    forget_data_keys,
    id_number,
    phone,
    stop_running,
)
from tests.conftest import Api
from tests.face.conftest import face_models, photos, service  # noqa: F401  (fixtures)
from tests.realname.conftest import FaceClient

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}
# The customer the bank registers: the identity authority's Li Hua, whom no phone links to, so only the card the
# bank binds can bring her identity into real-name's candidates (step 4).
CUSTOMER = DEMO_IDENTITIES[5]


class Journey:
    def __init__(self, api: Api, bank: Bank) -> None:
        self.api = api
        self.bank = bank
        self.phone = phone()
        self.card = card_token()
        self.token = ""
        self.sub = ""
        self.account_id = ""
        self.headers: dict[str, str] = {}
        self.first_use_cleared = False
        self.real_name_verified = False
        # the card the bank binds in step 1 (its last 4 digits and the holder's ID number): the CARD method's answer
        self.card_answer = {"last4": "1234", "id_number": CUSTOMER.id_number}

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
        self.headers = {"X-Device-Id": device_id, "X-Session-Id": reply.body["session_id"]}
        return reply.body  # type: ignore[no-any-return]

    def transfer(self, to_account_id: str, amount: int) -> Any:
        return self.api.call("POST", "/transfers", {"to_account_id": to_account_id,
                                                    "amount": {"amount": amount, "currency": "CNY"}},
                             token=self.token, key=str(uuid.uuid4()))

    # --- steps 3 and 5: adaptive verification (issue 12) ------------------------------------------------------
    def trigger(self, operation: str, **context: Any) -> dict[str, Any]:
        reply = self.api.call("POST", "/verifications", {"operation": operation, "context": {
            "device_id": self.headers["X-Device-Id"], "network": "CELLULAR", **context}},
            token=self.token, key=str(uuid.uuid4()), headers=self.headers)
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    def attempt(self, verification_id: str, **answer: Any) -> Any:
        return self.api.call("POST", f"/verifications/{verification_id}/attempts", answer, token=self.token,
                             key=str(uuid.uuid4()))


@pytest.fixture(scope="module")
def journey(stack: LocalStack, photos: dict[str, bytes]) -> Iterator[Journey]:  # noqa: F811
    stack.reset()
    seed_authority(stack.client("dynamodb"), photos, table=stack.template.physical_name("IdentityAuthorityTable"))
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
    reply = bank.request(journey.phone, journey.card, name=CUSTOMER.name, id_no=CUSTOMER.id_number)
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
    # a new device: adaptive verification's LOGIN decision (§4) comes with the session, CARD among its methods
    decision = session["decision"]
    assert decision["decision"] == "CHALLENGE" and "NEW_DEVICE" in decision["reasons"], decision
    assert "CARD" in decision["methods"], decision
    login = journey.api.call("GET", f"/verifications/{decision['verification_id']}", token=journey.token).body
    assert login["operation"] == "LOGIN" and login["methods"] == decision["methods"]
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["new_device"] is False and again["device"]["trusted"] is False  # trust is §4's decision
    assert again["decision"]["decision"] == "CHALLENGE" and "UNTRUSTED_DEVICE" in again["decision"]["reasons"]
    api = journey.api
    me = api.call("GET", "/accounts/me", token=journey.token).body
    assert me["account_id"] == journey.account_id and me["status"] == "ACTIVE"
    [binding] = api.call("GET", "/bindings", token=journey.token).body["items"]
    assert binding["bank_name"] == "Journey Bank" and binding["first_use_verified"] is False
    # The first operation is refused until the BINDING_FIRST_USE verification (step 3).
    friend = api.user()
    refused = journey.transfer(friend.account_id, 1)
    assert refused.status == 403 and refused.code == "SECURITY_AUTHENTICATION_REQUIRED", refused.body


def test_step_3_first_use_asks_for_a_strong_method(journey: Journey) -> None:
    journey.require("token")
    api = journey.api
    decision = journey.trigger("BINDING_FIRST_USE")
    assert decision["decision"] == "CHALLENGE" and decision["strength"] == "STRONG"
    assert decision["methods"] == ["CARD"]  # strong only: the bound card; no enrolled face; never OTP or password
    assert "STRONG_REQUIRED:BINDING_FIRST_USE" in decision["reasons"]
    vid = decision["verification_id"]
    weak = journey.attempt(vid, method="SMS_OTP", otp="123456")
    assert (weak.status, weak.code) == (422, "METHOD_NOT_OFFERED")
    wrong = journey.attempt(vid, method="CARD", card={**journey.card_answer, "id_number": id_number(2)})
    assert wrong.status == 200 and wrong.body["result"] == "FAILED" and wrong.body["tries_left"] == 4, wrong.body
    passed = journey.attempt(vid, method="CARD", card=journey.card_answer)
    assert passed.status == 200 and passed.body["result"] == "PASSED", passed.body
    assert passed.body["gate_cleared"] is True and passed.body["token"] is None  # the gate lifts by itself
    journey.first_use_cleared = True
    # binding recorded it, and the account is usable: the transfer step 2 saw refused goes through now
    [binding] = api.call("GET", "/bindings", token=journey.token).body["items"]
    assert binding["first_use_verified"] is True
    friend = api.user()
    api.deposit(journey.account_id, 100)
    assert journey.transfer(friend.account_id, 1).status == 201
    # the strong pass made the device trusted in the activity profile: the next sign-in asks nothing
    again = journey.sign_in_with_phone("journey-phone-1")
    assert again["device"]["trusted"] is True and again["decision"] is None, again
    profile = api.call("GET", "/me/activity-profile", token=journey.token).body
    assert [d["trusted"] for d in profile["devices"] if d["device_id"] == "journey-phone-1"] == [True]
    history = profile["verification"]  # the answered challenges, written into the profile by §4
    assert (history["attempts"], history["successes"], history["failures"]) == (2, 1, 1)
    assert history["last_strong_at"] == history["last_passed_at"] is not None


def test_step_4_real_name_authentication_proposes_the_identity(journey: Journey, photos: dict[str, bytes],  # noqa: F811
                                                               service: Any) -> None:  # noqa: F811
    journey.require("first_use_cleared")
    api = journey.api
    faces = FaceClient(api, photos, service)
    proof = faces.live_proof(journey.token, CUSTOMER.photo)
    started = api.call("POST", "/real-name/sessions", {**proof, "context": {
        "device_id": journey.headers["X-Device-Id"], "network": "CELLULAR"}}, token=journey.token,
        key=str(uuid.uuid4()), headers=journey.headers)
    assert started.status == 201, started.body
    session = started.body
    # the phone links to no identity: the holder of the card the bank bound in step 1 is the candidate, and the
    # selfie matches her identity photo; the app shows her masked, never in clear
    assert session["status"] == "AWAITING_CONFIRMATION" and session["next"] == "CONFIRM_IDENTITY", session
    assert session["proposed_identity"]["masked_name"] == mask_name(CUSTOMER.name)
    assert CUSTOMER.name not in json.dumps(session) and CUSTOMER.id_number not in json.dumps(session)
    assert "TRUST_TRUSTED_BINDING" in session["reasons"], session["reasons"]  # the bound card is a trust item
    done = api.call("POST", f"/real-name/sessions/{session['session_id']}/confirmation", {"confirmed": True},
                    token=journey.token, key=str(uuid.uuid4()))
    assert done.status == 200 and done.body["status"] == "VERIFIED", done.body
    journey.real_name_verified = True
    got = api.call("GET", f"/real-name/sessions/{session['session_id']}", token=journey.token).body
    assert got["status"] == "VERIFIED" and got["verified_identity"]["masked_name"] == mask_name(CUSTOMER.name)


def test_step_5_a_large_transfer_runs_the_inline_decision(journey: Journey) -> None:
    journey.require("first_use_cleared")
    api = journey.api
    journey.sign_in_with_phone("journey-laptop-2", network="WIFI")  # a new device: no exemption applies
    landlord = api.user()
    api.deposit(journey.account_id, 2_000_000)
    rent = {"to_account_id": landlord.account_id, "amount": {"amount": 880_000, "currency": "CNY"}, "note": "rent"}
    key = str(uuid.uuid4())
    refused = api.call("POST", "/transfers", rent, token=journey.token, key=key, headers=journey.headers)
    assert (refused.status, refused.code) == (403, "VERIFICATION_REQUIRED"), refused.body
    details = refused.body["error"]["details"]
    assert "CARD" in details["methods"] and api.balance(landlord) == 0
    passed = journey.attempt(details["verification_id"], method="CARD", card=journey.card_answer)
    assert passed.body["result"] == "PASSED", passed.body
    token = passed.body["token"]
    # bound to the amount and the payee: not a cent more
    more = api.call("POST", "/transfers", {**rent, "amount": {"amount": 880_001, "currency": "CNY"}},
                    token=journey.token, key=str(uuid.uuid4()), headers={"X-Verification-Token": token})
    assert (more.status, more.code) == (403, "VERIFICATION_INVALID")
    paid = api.call("POST", "/transfers", rent, token=journey.token, key=key,
                    headers={**journey.headers, "X-Verification-Token": token})
    assert paid.status == 201, paid.body
    assert api.balance(landlord) == 880_000
    decisions = api.call("GET", f"/admin/verification-decisions?user_id={journey.sub}",
                         token=api.token("risk-ops", "reviewer")).body["items"]
    assert decisions[0]["passed_method"] == "CARD" and decisions[0]["purpose"] == "TRANSFER"


def test_step_6_the_profile_shows_the_journey_and_the_identity_model_scores_it(journey: Journey) -> None:
    journey.require("first_use_cleared")
    api = journey.api
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
    # sign-ins: two in step 2 and one in step 3 on the phone, one in step 5 and one here on the laptop
    assert profile["sign_ins"]["count"] == 5 and profile["sign_ins"]["by_network"] == {"CELLULAR": 3, "WIFI": 2}
    # (step 2's refused transfer and step 5's refused first try are nowhere: a refused transfer writes nothing)
    # transfers: step 3's first one (0.01), step 5's rent (8,800.00), the two here
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["count_out"] == 4
    assert profile["activity"]["by_type"]["P2P_TRANSFER"]["amount_out"] == 1 + 880_000 + 4_000
    assert profile["activity"]["by_type"]["DEPOSIT"]["amount_in"] == 100 + 2_000_000 + 50_000
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
    # everything came from the journey; the age from the verified real name's ID number (step 4)
    assert v["missing_features"] == ([] if journey.real_name_verified else ["age_years"]), v
