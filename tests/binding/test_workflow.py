"""The binding saga executing the real ASL on the local stack, driven through the signed partner API."""

from __future__ import annotations

from tests.binding.conftest import Bank, card_token, execution, phone
from tests.conftest import Api


def test_new_customer_is_registered_then_bound(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    body = bank.bind(customer, token)
    assert body["status"] == "BOUND", body
    assert execution(api.stack, body["binding_request_id"])["status"] == "SUCCEEDED"
