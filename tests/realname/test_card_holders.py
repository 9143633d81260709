"""Bank binding (§6) feeds real-name (§5): the holders of the cards bound to the account join the 1:N candidate set
(``BindingCardHolders``), and the activity profile's bindings are the trust item "trusted binding information".
Everything goes through the API: the bank binds with signed requests, the user starts real-name sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.realname_demo import DEMO_IDENTITIES
from shared.binding.models import BindingStatus
from shared.binding.repository import DynamoBindingStore
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


def test_the_holder_of_a_card_bound_to_the_user_is_a_candidate_while_it_is_bound(
        api: Api, faces: FaceClient, bank: Bank) -> None:  # noqa: F811
    user, number = customer(api)
    before = start(api, faces, user, LI_HUA.photo, "holder-device-1").body
    assert before["status"] == "AWAITING_IDENTITY" and before["proposed_identity"] is None  # no candidate

    body = bank.bind(number, card_token(), name=LI_HUA.name, id_no=LI_HUA.id_number)
    assert body["status"] == "BOUND"
    after = start(api, faces, user, LI_HUA.photo, "holder-device-1").body
    assert after["status"] == "AWAITING_CONFIRMATION", after["reasons"]
    assert after["proposed_identity"]["masked_name"] == mask_name(LI_HUA.name)
    assert LI_HUA.id_number not in str(after)

    # The binding keeps the holder's ID number sealed (binding id + owner); the ended request keeps none.
    dynamodb = api.stack.client("dynamodb")
    request = dynamodb.get_item(TableName="BindingsTable",
                                Key={"pk": {"S": f"REQUEST#{body['binding_request_id']}"}})["Item"]
    assert "NULL" in request.get("id_encrypted", {"NULL": True}) and LI_HUA.id_number not in str(request)
    binding_id = request["binding_id"]["S"]
    item = dynamodb.get_item(TableName="BindingsTable", Key={"pk": {"S": f"BINDING#{binding_id}"}})["Item"]
    assert item["holder_id_encrypted"]["S"].startswith("v1.") and LI_HUA.id_number not in str(item)

    # Unbound, the card no longer brings its holder (unbinding drops the envelope).
    store = DynamoBindingStore("BindingsTable", dynamodb)
    binding = store.get_binding(binding_id)
    assert binding is not None
    store.unbind(binding.model_copy(update={"status": BindingStatus.UNBOUND, "unbound_at": datetime.now(UTC),
                                            "holder_id_encrypted": None}))  # what DELETE /bindings/{id} commits
    assert store.get_binding(binding_id).holder_id_encrypted is None  # type: ignore[union-attr]
    gone = start(api, faces, user, LI_HUA.photo, "holder-device-1").body
    assert gone["status"] == "AWAITING_IDENTITY" and gone["proposed_identity"] is None


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
