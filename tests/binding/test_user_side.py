"""The customer's side of a bank binding: the first-use gate (§4 verification port faked), their bindings, unbinding
with a verification token."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack import tokens
from shared.binding import wiring
from shared.binding.errors import VerificationInvalid, WeakMethodNotAccepted
from shared.binding.models import PassedVerification
from shared.binding.settings import BindingSettings
from tests.binding.conftest import Bank, card_token, forget_data_keys, phone
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


class AcceptingVerifier:
    """§4 faked: accepts the token it was told about, for that user and operation."""

    def __init__(self) -> None:
        self.valid: set[tuple[str, str, str]] = set()

    def verify(self, token: str, owner: str, operation: str) -> None:
        if (token, owner, operation) not in self.valid:
            raise VerificationInvalid(operation=operation)
        self.valid.discard((token, owner, operation))  # single use


def test_unbinding_requires_an_account_update_verification(api: Api, bank: Bank,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sub, user_token, token, _ = bound_customer(api, bank)
    [item] = api.call("GET", "/bindings", token=user_token).body["items"]
    path = f"/bindings/{item['binding_id']}"
    missing = api.call("DELETE", path, token=user_token)
    assert missing.status == 403 and missing.code == "VERIFICATION_REQUIRED"
    unknown = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": "whatever"})
    assert unknown.status == 403 and unknown.code == "VERIFICATION_INVALID"  # no §4 yet: nothing verifies
    foreign = api.call("DELETE", path, token=api.token("stranger"), headers={"X-Verification-Token": "t"})
    assert foreign.status == 404 and foreign.code == "BINDING_NOT_FOUND"

    verifier = AcceptingVerifier()
    verifier.valid.add(("tok-1", sub, "ACCOUNT_UPDATE"))
    monkeypatch.setattr(wiring, "verification_tokens", lambda s: verifier)
    forget_data_keys()
    gone = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": "tok-1"})
    assert gone.status == 200 and gone.body["status"] == "UNBOUND", gone.body
    assert api.call("GET", "/bindings", token=user_token).body["items"] == []
    again = api.call("DELETE", path, token=user_token, headers={"X-Verification-Token": "tok-1"})
    assert again.status == 404
    # After the unbind the card may be bound again (here to another customer).
    assert bank.bind(phone(), token)["status"] == "BOUND"
