"""The customer's side of a bank binding: the first-use gate (the port §4 calls, driven directly here; the journey
drives it through a real verification), their bindings, unbinding with a real §4 verification token."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack import tokens
from shared.binding import wiring
from shared.binding.errors import VerificationInvalid, WeakMethodNotAccepted
from shared.binding.models import PassedVerification
from shared.binding.settings import BindingSettings
from tests.binding.conftest import Bank, card_token, forget_data_keys, id_number, phone
from tests.conftest import Api


@pytest.fixture(autouse=True)
def _fresh_services(monkeypatch: pytest.MonkeyPatch) -> Any:
    yield
    forget_data_keys()  # services built with a faked port must not outlive the test


def settings(api: Api) -> BindingSettings:
    return BindingSettings.model_validate(
        {k.lower(): v for k, v in api.stack.registry.environment("UnbindFunction").items()})


def verification(owner: str, method: str = "FACE", strength: str = "STRONG",
                 operation: str = "BINDING_FIRST_USE") -> PassedVerification:
    return PassedVerification(owner=owner, operation=operation, method=method, strength=strength,
                              verification_id=f"ver_{uuid.uuid4().hex[:8]}")


def bound_customer(api: Api, bank: Bank) -> tuple[str, str, str, dict[str, Any]]:
    customer, token = phone(), card_token()
    body = bank.bind(customer, token)
    assert body["status"] == "BOUND", body
    user_token = api.call("POST", "/local/token", {"phone_number": customer}).body["token"]
    sub = tokens.verify(user_token)["sub"]
    return sub, user_token, token, body


def transfer(api: Api, user_token: str, to: str, amount: int = 100) -> Any:
    return api.call("POST", "/transfers", {"to_account_id": to, "amount": {"amount": amount, "currency": "CNY"}},
                    token=user_token, key=str(uuid.uuid4()))


def test_first_operation_needs_a_strong_binding_first_use_verification(api: Api, bank: Bank) -> None:
    sub, user_token, _, body = bound_customer(api, bank)
    api.deposit(body["account_id"], 5_000)  # receiving money is not gated
    friend = api.user()
    gate = wiring.first_use_gate(settings(api))
    assert gate.is_required(sub) is True

    refused = transfer(api, user_token, friend.account_id)
    assert refused.status == 403 and refused.code == "SECURITY_AUTHENTICATION_REQUIRED", refused.body
    order = api.call("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 100, "currency": "CNY"},
                                               "proxy_mode": True}, token=user_token, key=str(uuid.uuid4()))
    assert order.status == 403 and order.code == "SECURITY_AUTHENTICATION_REQUIRED", order.body
    assert api.balance(friend) == 0

    for weak in ("SMS_OTP", "PASSWORD"):
        with pytest.raises(WeakMethodNotAccepted):
            gate.clear(verification(sub, weak, "WEAK"))
    with pytest.raises(WeakMethodNotAccepted):
        gate.clear(verification(sub, "SMS_OTP", "STRONG"))  # a weak method is never strong enough
    with pytest.raises(VerificationInvalid):
        gate.clear(verification(sub, operation="PAYMENT"))
    assert transfer(api, user_token, friend.account_id).status == 403

    assert gate.clear(verification(sub, "CARD")) is True  # passing it lifts the gate by itself
    assert gate.is_required(sub) is False and gate.clear(verification(sub)) is False
    ok = transfer(api, user_token, friend.account_id)
    assert ok.status == 201, ok.body
    assert api.balance(friend) == 100
    [binding] = api.call("GET", "/bindings", token=user_token).body["items"]
    assert binding["first_use_verified"] is True


def test_binding_an_existing_account_gates_it_too(api: Api, bank: Bank) -> None:
    customer = phone()
    sub = f"user-{uuid.uuid4().hex[:8]}"
    user_token = tokens.issue(sub, phone_number=customer)
    account = api.call("POST", "/accounts", {}, token=user_token, key=str(uuid.uuid4())).body
    api.deposit(account["account_id"], 1_000)
    friend = api.user()
    assert transfer(api, user_token, friend.account_id).status == 201
    assert bank.bind(customer, card_token())["status"] == "BOUND"
    assert transfer(api, user_token, friend.account_id).code == "SECURITY_AUTHENTICATION_REQUIRED"


def test_bindings_are_listed_for_their_owner_only(api: Api, bank: Bank) -> None:
    _, user_token, _, _ = bound_customer(api, bank)
    [item] = api.call("GET", "/bindings", token=user_token).body["items"]
    assert set(item) == {"binding_id", "bank_name", "card", "card_type", "account_id", "first_use_verified",
                         "created_at"}
    assert item["card"] == "**** 1234" and item["card_type"] == "DEBIT"
    assert api.call("GET", "/bindings", token=api.token("stranger")).body["items"] == []


def account_update_token(api: Api, user_token: str, operation: str = "ACCOUNT_UPDATE") -> str:
    """A real §4 verification token: trigger, then the CARD method against the card the bank bound (the bank's
    default last 4 digits and holder's ID number)."""
    context: dict[str, Any] = {"device_id": "dev-unbind-1", "network": "WIFI"}
    if operation == "PAYMENT":
        context.update(amount={"amount": 900_000, "currency": "CNY"}, payee_account_id="acc_nobody")
    trig = api.call("POST", "/verifications", {"operation": operation, "context": context}, token=user_token,
                    key=str(uuid.uuid4()))
    assert trig.status == 201 and "CARD" in trig.body["methods"], trig.body
    passed = api.call("POST", f"/verifications/{trig.body['verification_id']}/attempts",
                      {"method": "CARD", "card": {"last4": "1234", "id_number": id_number()}}, token=user_token,
                      key=str(uuid.uuid4()))
    assert passed.status == 200 and passed.body["result"] == "PASSED" and passed.body["token"], passed.body
    return str(passed.body["token"])


def test_unbinding_requires_an_account_update_verification(api: Api, bank: Bank) -> None:
    _, user_token, token, _ = bound_customer(api, bank)
    [item] = api.call("GET", "/bindings", token=user_token).body["items"]
    path = f"/bindings/{item['binding_id']}"
    missing = api.call("DELETE", path, token=user_token)
    assert missing.status == 403 and missing.code == "VERIFICATION_REQUIRED"
    unknown = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": "vt_whatever"})
    assert unknown.status == 403 and unknown.code == "VERIFICATION_INVALID"
    foreign = api.call("DELETE", path, token=api.token("stranger"), headers={"X-Verification-Token": "t"})
    assert foreign.status == 404 and foreign.code == "BINDING_NOT_FOUND"
    # §4's tokens (adaptive verification's TokenService): another user's, or one for another operation, refused
    _, other_token, _, _ = bound_customer(api, bank)
    theirs = account_update_token(api, other_token)
    refused = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": theirs})
    assert refused.status == 403 and refused.code == "VERIFICATION_INVALID"
    payment = account_update_token(api, user_token, "PAYMENT")  # a PAYMENT token: the wrong operation
    wrong_op = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": payment})
    assert wrong_op.status == 403 and wrong_op.code == "VERIFICATION_INVALID"
    assert [b["binding_id"] for b in api.call("GET", "/bindings", token=user_token).body["items"]] == [
        item["binding_id"]]

    mine, key = account_update_token(api, user_token), str(uuid.uuid4())
    gone = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": mine}, key=key)
    assert gone.status == 200 and gone.body["status"] == "UNBOUND", gone.body
    assert api.call("GET", "/bindings", token=user_token).body["items"] == []
    # A crash after the commit and before the idempotency record completed: the record expires and the client
    # retries with its key. The same request answers its unbinding again (Stripe's replay); another one is a 404.
    ddb = api.stack.client("dynamodb")
    for record in ddb.scan(TableName="IdempotencyTable")["Items"]:
        if record["id"]["S"].startswith("UnbindFunction"):
            ddb.delete_item(TableName="IdempotencyTable", Key={"id": record["id"]})
    replay = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": mine}, key=key)
    assert (replay.status, replay.body) == (200, gone.body)
    again = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": mine})
    assert again.status == 404 and again.code == "BINDING_NOT_FOUND"
    stranger = api.call("DELETE", path, token=api.token("stranger"), headers={"X-Verification-Token": mine}, key=key)
    assert stranger.status == 404  # the tag is the caller's and the key's: another caller's same key is not it
    # After the unbind the card may be bound again (here to another customer).
    assert bank.bind(phone(), token)["status"] == "BOUND"
