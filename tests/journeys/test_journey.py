"""One user journey across capabilities (CONTRACTS.md, "One journey, tested end to end"), driven over the local
API as the apps would. Each issue implements its step; steps not built yet are skipped naming their issue."""

from __future__ import annotations

import uuid

import pytest

from local_stack.realname_demo import DEMO_PHONE, seed_authority
from tests.conftest import Api
from tests.face.conftest import face_models, photos, service  # noqa: F401  (fixtures)
from tests.realname.conftest import FaceClient, register_with_phone


def test_1_bank_registers_a_customer_and_binds_a_card() -> None:
    pytest.skip("issue 13 (bank-initiated binding, §6) adds this step")


def test_2_customer_signs_in_on_a_new_device() -> None:
    pytest.skip("issue 10 (risk signals: sessions and devices) adds this step")


def test_3_first_operation_asks_for_binding_first_use() -> None:
    pytest.skip("issue 12 (adaptive verification, §4) adds this step")


def test_4_real_name_proposes_the_identity_and_the_customer_confirms(
        api: Api, photos: dict[str, bytes]) -> None:  # noqa: F811
    """§5: the customer (whose phone the identity authority links to their identity) gets a masked proposal
    from their selfie and liveness frames, confirms it, and the account is real-name verified."""
    seed_authority(api.stack.client("dynamodb"), photos,
                   table=api.stack.template.physical_name("IdentityAuthorityTable"))
    token = register_with_phone(api, f"journey-{uuid.uuid4().hex[:6]}", DEMO_PHONE)
    faces = FaceClient(api, photos)
    body = {**faces.proof(token, "obama"), "context": {"device_id": "journey-phone", "network": "CELLULAR"}}
    created = api.call("POST", "/real-name/sessions", body, token=token, key=str(uuid.uuid4()))
    assert created.status == 201 and created.body["next"] == "CONFIRM_IDENTITY", created.body
    assert created.body["proposed_identity"]["masked_name"] == "Z*******"
    confirmed = api.call("POST", f"/real-name/sessions/{created.body['session_id']}/confirmation",
                         {"confirmed": True}, token=token, key=str(uuid.uuid4()))
    assert confirmed.status == 200 and confirmed.body["status"] == "VERIFIED"


def test_5_large_transfer_with_a_payment_token() -> None:
    pytest.skip("issue 12 (adaptive verification, §4) adds this step")


def test_6_activity_profile_and_identity_score() -> None:
    pytest.skip("issue 10 (risk signals) adds this step")
