"""The one user journey of CONTRACTS.md, driven through the local API as the apps would, extended by each issue as
its part lands. Steps run in order on one stack (module scope); a step not built yet is skipped with the issue
that adds it.

1. a bank registers a new customer and binds a card (§6, issue 13);
2. the customer signs in with their phone on a new device (phone sign-in: issue 13; sessions and devices: issue 10);
3. the first operation asks for BINDING_FIRST_USE; a strong method (CARD or FACE) passes (§4, issue 12);
4. real-name authentication proposes the identity, the customer confirms (§5, issue 11);
5. a large transfer runs the inline decision and succeeds with a payment token bound to amount and payee (§4, 12);
6. the activity profile shows devices, sign-ins and transfers, and the identity model scores the customer (issue 10).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack import LocalStack, tokens
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


class Journey:
    def __init__(self, api: Api, bank: Bank) -> None:
        self.api = api
        self.bank = bank
        self.phone = phone()
        self.card = card_token()
        self.state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def journey(stack: LocalStack) -> Iterator[Journey]:
    stack.reset()
    forget_data_keys()
    callbacks = CallbackServer().start()
    api = Api(stack)
    yield Journey(api, create_partner(api, callbacks, "Journey Bank"))
    stop_running(stack)
    callbacks.stop()


def test_1_a_bank_registers_a_new_customer_and_binds_a_card(journey: Journey) -> None:
    bank = journey.bank
    reply = bank.request(journey.phone, journey.card, name="Wang Fang")
    assert reply.status == 202, reply.body
    rid = reply.body["binding_request_id"]
    awaiting = bank.wait(rid, "AWAITING_BANK")
    assert awaiting["account_id"] and awaiting["confirm_by"]
    assert bank.callbacks.received or bank.get(rid).body["account_id"]  # pushed, or polled
    assert bank.confirm(rid, awaiting["account_id"], journey.card).status == 202
    bound = bank.wait(rid, "BOUND")
    journey.state["account_id"] = bound["account_id"]


def test_2_the_customer_signs_in_with_their_phone(journey: Journey) -> None:
    if "account_id" not in journey.state:
        pytest.skip("step 1 did not complete")
    reply = journey.api.call("POST", "/local/token", {"phone_number": journey.phone})
    assert reply.status == 200, reply.body
    token = reply.body["token"]
    assert tokens.verify(token)["phone_number"] == journey.phone
    me = journey.api.call("GET", "/accounts/me", token=token).body
    assert me["account_id"] == journey.state["account_id"] and me["status"] == "ACTIVE"
    [binding] = journey.api.call("GET", "/bindings", token=token).body["items"]
    assert binding["bank_name"] == "Journey Bank" and binding["first_use_verified"] is False
    # The first operation is refused until the BINDING_FIRST_USE verification (step 3).
    friend = journey.api.user()
    refused = journey.api.call("POST", "/transfers", {"to_account_id": friend.account_id,
                                                      "amount": {"amount": 1, "currency": "CNY"}},
                               token=token, key=str(uuid.uuid4()))
    assert refused.status == 403 and refused.code == "SECURITY_AUTHENTICATION_REQUIRED"
    journey.state["token"] = token


def test_2b_the_sign_in_opens_a_session_on_a_new_device(journey: Journey) -> None:
    pytest.skip("sessions and devices (POST /sessions, X-Device-Id) arrive with issue 10 (risk signals)")


def test_3_first_use_asks_for_a_strong_verification(journey: Journey) -> None:
    pytest.skip("BINDING_FIRST_USE verification with CARD or FACE arrives with issue 12 (adaptive verification)")


def test_4_real_name_authentication_proposes_and_confirms_the_identity(journey: Journey) -> None:
    pytest.skip("real-name authentication with face arrives with issue 11 (§5)")


def test_5_a_large_transfer_runs_the_inline_decision(journey: Journey) -> None:
    pytest.skip("the inline decision and payment tokens arrive with issue 12 (adaptive verification)")


def test_6_the_activity_profile_shows_the_journey_and_the_model_scores_it(journey: Journey) -> None:
    pytest.skip("the activity profile from signals arrives with issue 10 (risk signals)")
