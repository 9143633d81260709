"""Binding state changes reach the owner's activity profile (``bindings``: trusted binding information for §5),
written by the steps that change them through ``SignalsWriter.record_binding``: bound, first use verified,
unbound; a compensated request leaves nothing; retries and stale writes never move a binding backwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack import tokens
from shared.binding import wiring
from shared.binding.models import PassedVerification
from shared.binding.settings import BindingSettings
from shared.signals.models import BindingFact, BindingState, SensitiveChange
from shared.signals.repository import DynamoSignalsStore
from tests.binding.conftest import Bank, card_token, forget_data_keys, phone
from tests.binding.test_user_side import account_update_token
from tests.conftest import Api


@pytest.fixture(autouse=True)
def _fresh_services() -> Any:
    yield
    forget_data_keys()


def settings(api: Api, function: str = "UnbindFunction") -> BindingSettings:
    env = api.stack.registry.environment(function)
    return BindingSettings.model_validate({k.lower(): v for k, v in env.items()})


def profile_bindings(api: Api, user_token: str) -> dict[str, Any]:
    reply = api.call("GET", "/me/activity-profile", token=user_token)
    assert reply.status == 200, reply.body
    return reply.body["bindings"]  # type: ignore[no-any-return]


def signed_in(api: Api, customer: str) -> tuple[str, str]:
    user_token = api.call("POST", "/local/token", {"phone_number": customer}).body["token"]
    return tokens.verify(user_token)["sub"], user_token


def card_changed_at(api: Api, sub: str) -> datetime | None:
    """The profile's CARD sensitive change (what §4's risk reads through ``SignalsReader``)."""
    store = DynamoSignalsStore(api.stack.template.physical_name("SignalsTable"), api.stack.client("dynamodb"))
    raw = store.load(sub, datetime.now(UTC).date())
    return raw.sensitive_changes.get(SensitiveChange.CARD) if raw is not None else None


def test_bound_first_use_and_unbound_are_recorded_in_order(api: Api, bank: Bank,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    customer, card = phone(), card_token()
    bound = bank.bind(customer, card)
    assert bound["status"] == "BOUND", bound
    sub, user_token = signed_in(api, customer)
    # Bound: one active binding, its first use still to be verified
    b = profile_bindings(api, user_token)
    assert (b["active"], b["ever"], b["unbound"], b["first_use_pending"]) == (1, 1, 0, True)
    [item] = b["items"]
    assert item["bank_name"] == "Demo Bank" and item["card_type"] == "DEBIT" and item["state"] == "ACTIVE"
    assert set(item) == {"binding_id", "bank_name", "card_type", "state", "bound_at", "first_use_verified_at",
                         "unbound_at"}  # ids, bank and card type: no card token, last digits or phone
    bound_change = card_changed_at(api, sub)  # binding a card is a CARD sensitive change
    assert bound_change is not None and datetime.fromisoformat(item["bound_at"]) <= bound_change
    # The step runs again (a Step Functions retry after its write): still one fact, unchanged
    api.stack.registry.invoke("ActivateBindingFunction", {"binding_request_id": bound["binding_request_id"]})
    assert profile_bindings(api, user_token)["items"] == [item]
    # First use verified (§4 calls the gate)
    gate = wiring.first_use_gate(settings(api))
    assert gate.clear(PassedVerification(owner=sub, operation="BINDING_FIRST_USE", method="FACE",
                                         strength="STRONG", verification_id="ver_t1"))
    b = profile_bindings(api, user_token)
    assert b["first_use_pending"] is False and b["items"][0]["first_use_verified_at"] is not None
    first_use_change = card_changed_at(api, sub)
    assert first_use_change is not None and first_use_change >= bound_change  # (a retried step wrote it again)
    # A stale write (a late retry built before the verification) does not undo it
    api.stack.registry.invoke("ActivateBindingFunction", {"binding_request_id": bound["binding_request_id"]})
    assert profile_bindings(api, user_token)["first_use_pending"] is False
    # Unbound
    gone = api.call("DELETE", f"/bindings/{item['binding_id']}", token=user_token,
                    headers={"X-Verification-Token": account_update_token(api, user_token)})
    assert gone.status == 200, gone.body
    b = profile_bindings(api, user_token)
    assert (b["active"], b["ever"], b["unbound"], b["first_use_pending"]) == (0, 1, 1, False)
    assert b["items"][0]["state"] == "UNBOUND" and b["items"][0]["unbound_at"] is not None
    unbound_change = card_changed_at(api, sub)  # unbinding is one too
    assert unbound_change is not None and unbound_change >= datetime.fromisoformat(b["items"][0]["unbound_at"])
    # The saga's step run once more after the unbind does not bring it back
    api.stack.registry.invoke("ActivateBindingFunction", {"binding_request_id": bound["binding_request_id"]})
    assert profile_bindings(api, user_token)["active"] == 0


def test_a_first_use_retried_after_a_crash_past_the_gate_still_reaches_the_profile(
        api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bound card whose first use is verified, the gate's transaction committed, and the function dying
    # before the activity profile's write
    customer = phone()
    assert bank.bind(customer, card_token())["status"] == "BOUND"
    sub, user_token = signed_in(api, customer)
    gate = wiring.first_use_gate(settings(api))
    passed = PassedVerification(owner=sub, operation="BINDING_FIRST_USE", method="FACE", strength="STRONG",
                                verification_id="ver_crash")

    class Crash(Exception):
        pass

    def crash(*_: Any, **__: Any) -> None:
        raise Crash()

    with monkeypatch.context() as patched:
        patched.setattr(type(gate), "project", crash)
        with pytest.raises(Crash):
            gate.clear(passed)
    assert not gate.is_required(sub)  # the gate is down
    assert profile_bindings(api, user_token)["first_use_pending"] is True  # the profile lags
    # When §4's retried attempt calls the gate again: nothing to lift, and the profile catches up
    assert gate.clear(passed) is False
    b = profile_bindings(api, user_token)
    assert b["first_use_pending"] is False and b["items"][0]["first_use_verified_at"] is not None


def test_a_compensated_request_leaves_nothing_in_the_profile(api: Api, bank: Bank) -> None:
    existing, card = phone(), card_token()
    sub = f"user-{uuid.uuid4().hex[:8]}"
    assert api.call("POST", "/accounts", {}, token=tokens.issue(sub, phone_number=existing),
                    key=str(uuid.uuid4())).status == 201
    reply = bank.request(existing, card)
    rid = reply.body["binding_request_id"]
    bank.wait(rid, "AWAITING_BANK")
    assert bank.reject(rid).status == 202
    assert bank.wait(rid, "FAILED")["reason"] == "BANK_REJECTED"
    b = profile_bindings(api, tokens.issue(sub, phone_number=existing))
    assert (b["active"], b["ever"], b["items"]) == (0, 0, [])
    assert card_changed_at(api, sub) is None  # no card was bound


def test_the_store_only_moves_a_binding_forwards(api: Api) -> None:
    store = DynamoSignalsStore(api.stack.template.physical_name("SignalsTable"), api.stack.client("dynamodb"))
    at = datetime(2026, 11, 29, 12, tzinfo=UTC)
    fact = BindingFact(binding_id="bnd_1", partner_id="ptn_1", bank_name="B", card_type="DEBIT", account_id="acc_1",
                       state=BindingState.ACTIVE, bound_at=at)
    verified = fact.model_copy(update={"first_use_verified_at": at})
    unbound = verified.model_copy(update={"state": BindingState.UNBOUND, "unbound_at": at})
    assert store.put_binding("u1", fact) and store.put_binding("u1", fact)  # idempotent
    assert store.put_binding("u1", verified)
    assert store.put_binding("u1", fact) is False  # not back to "first use pending"
    assert store.put_binding("u1", unbound)
    assert store.put_binding("u1", verified) is False and store.put_binding("u1", fact) is False
    raw = store.load("u1", at.date())
    assert raw is not None and raw.binding_facts == [unbound]
