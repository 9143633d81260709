"""Bank binding (§6) feeds real-name (§5): the holders of the cards bound to the account join the 1:N candidate set
(``BindingCardHolders``), and the activity profile's bindings are the trust item "trusted binding information".
Everything goes through the API: the bank binds with signed requests, the user starts real-name sessions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack.realname_demo import DEMO_IDENTITIES
from shared.realname.services.directory import mask_name
from tests.binding.conftest import Bank, bank, callbacks, card_token, phone  # noqa: F401  (fixtures)
from tests.conftest import Api, User
from tests.realname.conftest import FaceClient, register_with_phone
from tests.realname.test_signals_api import policy, start  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("authority")
LI_HUA = DEMO_IDENTITIES[5]  # linked to no phone: only a bound card's holder can bring her into the candidates


def customer(api: Api) -> tuple[User, str]:
    number = phone()
    sub = f"rn-{uuid.uuid4().hex[:8]}"
    token = register_with_phone(api, sub, number)
    return User(sub, token, api.call("GET", "/accounts/me", token=token).body["account_id"]), number


def test_the_holder_of_a_card_bound_to_the_user_is_proposed(api: Api, faces: FaceClient, bank: Bank) -> None:  # noqa: F811
    user, number = customer(api)
    before = start(api, faces, user, LI_HUA.photo, "holder-device-1").body
    assert before["status"] == "AWAITING_IDENTITY" and before["proposed_identity"] is None  # no candidate

    assert bank.bind(number, card_token(), name=LI_HUA.name, id_no=LI_HUA.id_number)["status"] == "BOUND"
    after = start(api, faces, user, LI_HUA.photo, "holder-device-1").body
    assert after["status"] == "AWAITING_CONFIRMATION", after["reasons"]
    assert after["proposed_identity"]["masked_name"] == mask_name(LI_HUA.name)
    assert LI_HUA.id_number not in str(after)


def test_an_unbound_card_no_longer_brings_its_holder(api: Api, faces: FaceClient, bank: Bank) -> None:  # noqa: F811
    """The binding keeps the holder's ID number only while it is bound (unbinding drops the envelope)."""
    user, number = customer(api)
    body = bank.bind(number, card_token(), name=LI_HUA.name, id_no=LI_HUA.id_number)
    item = api.stack.client("dynamodb").get_item(TableName="BindingsTable",
                                                 Key={"pk": {"S": f"REQUEST#{body['binding_request_id']}"}})["Item"]
    assert "id_encrypted" not in item or "NULL" in item["id_encrypted"]  # the ended request keeps no ID number
    binding_id = item["binding_id"]["S"]
    store_item = api.stack.client("dynamodb").get_item(TableName="BindingsTable",
                                                       Key={"pk": {"S": f"BINDING#{binding_id}"}})["Item"]
    sealed = store_item["holder_id_encrypted"]["S"]
    assert sealed.startswith("v1.") and LI_HUA.id_number not in str(store_item)
    from shared.binding.repository import DynamoBindingStore

    store = DynamoBindingStore("BindingsTable", api.stack.client("dynamodb"))
    binding = store.get_binding(binding_id)
    assert binding is not None
    from datetime import UTC, datetime

    store.unbind(binding, datetime.now(UTC))  # what DELETE /bindings/{id} commits (its route needs §4's token)
    after = start(api, faces, user, LI_HUA.photo, "holder-device-2").body
    assert after["status"] == "AWAITING_IDENTITY" and after["proposed_identity"] is None


def test_bindings_in_the_profile_are_the_trust_item(api: Api, faces: FaceClient, bank: Bank, policy: Any) -> None:  # noqa: F811
    """``min_bindings`` of the policy against the profile's active bindings (written by the binding saga)."""
    policy(trust={"min_bindings": 1})
    user, number = customer(api)
    first = start(api, faces, user, LI_HUA.photo, "trust-device-1").body
    assert "UNTRUSTED_TRUSTED_BINDING" in first["reasons"], first["reasons"]
    bank.bind(number, card_token())
    second = start(api, faces, user, LI_HUA.photo, "trust-device-1").body
    assert "TRUST_TRUSTED_BINDING" in second["reasons"], second["reasons"]
    policy(trust={"min_bindings": 2})  # one binding is not enough for a stricter policy
    third = start(api, faces, user, LI_HUA.photo, "trust-device-1").body
    assert "UNTRUSTED_TRUSTED_BINDING" in third["reasons"], third["reasons"]
