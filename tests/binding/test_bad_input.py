"""Bad binding requests are 4xx before anything is stored, and card numbers / ID numbers never reach the logs."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.binding.conftest import Bank, binding_items, card_token, phone

PAN = "4111111111111111"
PAN_GROUPED = "4111 1111 1111 1111"


def body() -> dict[str, Any]:
    return {"customer": {"phone": phone(), "name": "Li Hua", "id_number": "11010519491231002X"},
            "card": {"token": card_token(), "last4": "1234", "type": "DEBIT", "expiry": "12/29"},
            "bank_customer_ref": "cust-1"}


def with_(path: str, value: Any) -> dict[str, Any]:
    data = body()
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node[p]
    node[leaf] = value
    return data


CASES = {
    "pan as card token": with_("card.token", PAN),
    "pan inside the token": with_("card.token", f"tok{PAN}x"),
    "pan as customer ref": with_("bank_customer_ref", PAN),
    "grouped pan as name": with_("customer.name", PAN_GROUPED),
    "pan in an unknown field": {**body(), "card_number": PAN},
    "digits-only token": with_("card.token", "1234567890123456"),
    "short token": with_("card.token", "tok_short"),
    "token with spaces": with_("card.token", "tok with spaces here"),
    "bad id checksum": with_("customer.id_number", "110105199003070011"),
    "id birth date": with_("customer.id_number", "110105199013070010"),
    "phone not e164": with_("customer.phone", "13800138000"),
    "unknown card type": with_("card.type", "PREPAID"),
    "bad last4": with_("card.last4", "12a4"),
    "bad expiry": with_("card.expiry", "13/29"),
    "oversized name": with_("customer.name", "L" * 81),
    "oversized ref": with_("bank_customer_ref", "r" * 65),
    "bidi in name": with_("customer.name", "Li\u202eHua"),
    "control in name": with_("customer.name", "Li\x00Hua"),
    "missing card": {k: v for k, v in body().items() if k != "card"},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_binding_requests_are_422_and_store_nothing(bank: Bank, capfd: pytest.CaptureFixture[str],
                                                        case: str) -> None:
    data = copy.deepcopy(CASES[case])
    reply = bank.call("POST", "/partners/bindings", data, key=str(uuid.uuid4()))
    assert reply.status in (400, 422), reply.body
    assert PAN not in reply.raw.decode() and "110105199003070011" not in reply.raw.decode()
    ddb = bank.api.stack.client("dynamodb")
    assert binding_items(bank.api.stack) == []
    assert [i for i in ddb.scan(TableName="IdempotencyTable")["Items"]
            if i["id"]["S"].startswith("CreateBindingRequestFunction")] == []
    logs = capfd.readouterr()
    for secret in (PAN, PAN_GROUPED, "110105199003070011", "11010519491231002X"):
        assert secret not in logs.out + logs.err


def test_pan_refusal_names_the_field_not_the_value(bank: Bank) -> None:
    reply = bank.call("POST", "/partners/bindings", with_("bank_customer_ref", PAN), key=str(uuid.uuid4()))
    assert reply.status == 422
    [field] = reply.body["error"]["details"]["fields"]
    assert field["type"] == "card_number_not_accepted" and "bank_customer_ref" in field["message"]


def test_a_good_request_logs_no_personal_data(bank: Bank, capfd: pytest.CaptureFixture[str]) -> None:
    data = body()
    reply = bank.call("POST", "/partners/bindings", data, key=str(uuid.uuid4()))
    assert reply.status == 202
    bank.wait(reply.body["binding_request_id"], "AWAITING_BANK")
    logs = capfd.readouterr()
    assert "BindingRequested" in logs.out  # the handlers' output is captured: the scan below sees their logs
    for value in (data["customer"]["phone"], data["customer"]["id_number"], data["card"]["token"], "Li Hua"):
        assert value not in logs.out + logs.err


@pytest.mark.parametrize("confirmation", [
    {"account_id": "acc_b" + "0" * 31, "card_token": PAN},
    {"account_id": "not an account", "card_token": "tok_" + "a" * 16},
    {"account_id": "acc_b" + "0" * 31},
])
def test_bad_confirmations_are_422(bank: Bank, confirmation: dict[str, Any]) -> None:
    reply = bank.call("POST", "/partners/bindings/br_" + "0" * 24 + "/confirmation", confirmation,
                      key=str(uuid.uuid4()))
    assert reply.status == 422, reply.body


def test_unknown_request_ids_are_404_and_malformed_ones_422(bank: Bank) -> None:
    assert bank.get("br_" + "0" * 24).status == 404
    assert bank.get("nope").status == 422
