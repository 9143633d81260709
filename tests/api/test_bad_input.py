"""Bad input on every foundation route: a 4xx with a clear code, and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.ledger.service import encode_page_token
from tests.conftest import Api, User, new_key


def snapshot(api: Api) -> tuple[list[Any], list[Any]]:
    ddb = api.stack.client("dynamodb")
    items = ddb.scan(TableName="AccountsTable")["Items"]
    accounts = sorted((i["pk"]["S"], i.get("balance", {}).get("N")) for i in items)
    ledger = sorted(i["pk"]["S"] + i["sk"]["S"] for i in ddb.scan(TableName="LedgerTable")["Items"])
    return accounts, ledger


@pytest.fixture
def pair(api: Api) -> tuple[User, User]:
    return api.user("alice", balance=1_000), api.user("bob")


def money(amount: Any, currency: Any = "CNY") -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


TRANSFER_CASES = [
    ("missing amount", lambda b: {"to_account_id": b}, 422, "VALIDATION_ERROR"),
    ("missing to", lambda b: {"amount": money(1)}, 422, "VALIDATION_ERROR"),
    ("extra field", lambda b: {"to_account_id": b, "amount": money(1), "from_account_id": "acc_x1"}, 422,
     "VALIDATION_ERROR"),
    ("extra money field", lambda b: {"to_account_id": b, "amount": {**money(1), "fx": 1}}, 422, "VALIDATION_ERROR"),
    ("float amount", lambda b: {"to_account_id": b, "amount": money(12.5)}, 422, "VALIDATION_ERROR"),
    ("float-looking int", lambda b: {"to_account_id": b, "amount": money(12.0)}, 422, "VALIDATION_ERROR"),
    ("string amount", lambda b: {"to_account_id": b, "amount": money("100")}, 422, "VALIDATION_ERROR"),
    ("bool amount", lambda b: {"to_account_id": b, "amount": money(True)}, 422, "VALIDATION_ERROR"),
    ("zero", lambda b: {"to_account_id": b, "amount": money(0)}, 422, "VALIDATION_ERROR"),
    ("negative", lambda b: {"to_account_id": b, "amount": money(-100)}, 422, "VALIDATION_ERROR"),
    ("huge", lambda b: {"to_account_id": b, "amount": money(2**70)}, 422, "VALIDATION_ERROR"),
    ("over the transfer limit", lambda b: {"to_account_id": b, "amount": money(100_000_001)}, 422,
     "INVALID_AMOUNT"),
    ("lower-case currency", lambda b: {"to_account_id": b, "amount": money(1, "cny")}, 422, "VALIDATION_ERROR"),
    ("unsupported currency", lambda b: {"to_account_id": b, "amount": money(1, "USD")}, 422,
     "UNSUPPORTED_CURRENCY"),
    ("malformed account id", lambda b: {"to_account_id": "../../etc", "amount": money(1)}, 422,
     "VALIDATION_ERROR"),
    ("huge note", lambda b: {"to_account_id": b, "amount": money(1), "note": "x" * 10_000}, 422,
     "VALIDATION_ERROR"),
    ("unknown account", lambda b: {"to_account_id": "acc_doesnotexist", "amount": money(1)}, 404,
     "ACCOUNT_NOT_FOUND"),
    ("insufficient funds", lambda b: {"to_account_id": b, "amount": money(1_001)}, 409, "INSUFFICIENT_FUNDS"),
    ("array body", lambda b: [b], 422, "VALIDATION_ERROR"),
    ("null body", lambda b: None, 422, "VALIDATION_ERROR"),
]


@pytest.mark.parametrize("name,body,status,code", TRANSFER_CASES, ids=[c[0] for c in TRANSFER_CASES])
def test_transfer_bad_input(api: Api, pair: tuple[User, User], name: str, body: Any, status: int,
                            code: str) -> None:
    alice, bob = pair
    before = snapshot(api)
    payload = body(bob.account_id)
    reply = api.call("POST", "/transfers", payload, token=alice.token, key=f"bad-{name}",
                     raw=b"null" if payload is None else None)
    assert (reply.status, reply.code) == (status, code), reply.body
    assert reply.body["error"]["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("raw,status,code", [
    (b"{bad json", 400, "INVALID_JSON"),
    (b"", 422, "VALIDATION_ERROR"),
    (b"\xff\xfe\x00", 400, "INVALID_JSON"),
    (b'{"to_account_id": "acc_x", "amount": {"amount": 1e400, "currency": "CNY"}}', 422, "VALIDATION_ERROR"),
    (b"[" * 5_000, 400, "INVALID_JSON"),
])
def test_transfer_unparseable_bodies(api: Api, pair: tuple[User, User], raw: bytes, status: int, code: str) -> None:
    alice, _ = pair
    before = snapshot(api)
    reply = api.call("POST", "/transfers", token=alice.token, key="raw", raw=raw)
    assert (reply.status, reply.code) == (status, code), reply.body
    assert snapshot(api) == before


def test_transfer_to_own_account(api: Api, pair: tuple[User, User]) -> None:
    alice, _ = pair
    before = snapshot(api)
    reply = api.call("POST", "/transfers", {"to_account_id": alice.account_id, "amount": money(1)},
                     token=alice.token, key="self")
    assert (reply.status, reply.code) == (422, "SAME_ACCOUNT")
    assert snapshot(api) == before


def test_transfer_needs_an_idempotency_key(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    before = snapshot(api)
    reply = api.call("POST", "/transfers", {"to_account_id": bob.account_id, "amount": money(1)}, token=alice.token)
    assert (reply.status, reply.code) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    too_long = api.call("POST", "/transfers", {"to_account_id": bob.account_id, "amount": money(1)},
                        token=alice.token, key="k" * 300)
    assert (too_long.status, too_long.code) == (422, "INVALID_INPUT")
    assert snapshot(api) == before


def test_transfer_without_an_account(api: Api, pair: tuple[User, User]) -> None:
    _, bob = pair
    reply = api.call("POST", "/transfers", {"to_account_id": bob.account_id, "amount": money(1)},
                     token=api.token("stranger"), key="s")
    assert (reply.status, reply.code) == (404, "ACCOUNT_NOT_FOUND")


@pytest.mark.parametrize("method,path", [
    ("POST", "/accounts"), ("GET", "/accounts/me"), ("GET", "/accounts/me/entries"), ("POST", "/transfers"),
    ("POST", "/admin/accounts/acc_x1/deposits"),
])
def test_every_route_needs_a_token(api: Api, method: str, path: str) -> None:
    before = snapshot(api)
    reply = api.call(method, path, {} if method == "POST" else None)
    assert (reply.status, reply.code) == (401, "UNAUTHENTICATED")
    assert snapshot(api) == before


@pytest.mark.parametrize("body,status,code", [
    ({"currency": "XYZ"}, 422, "UNSUPPORTED_CURRENCY"),
    ({"currency": "cny"}, 422, "VALIDATION_ERROR"),
    ({"currency": 5}, 422, "VALIDATION_ERROR"),
    ({"owner": "someone-else"}, 422, "VALIDATION_ERROR"),
])
def test_register_bad_input(api: Api, body: Any, status: int, code: str) -> None:
    before = snapshot(api)
    reply = api.call("POST", "/accounts", body, token=api.token("newbie"), key=new_key())
    assert (reply.status, reply.code) == (status, code), reply.body
    assert snapshot(api) == before


@pytest.mark.parametrize("query,status,code", [
    ("limit=0", 422, "VALIDATION_ERROR"), ("limit=101", 422, "VALIDATION_ERROR"),
    ("limit=abc", 422, "VALIDATION_ERROR"), ("next_token=garbage!", 400, "INVALID_NEXT_TOKEN"),
    ("next_token=" + "A" * 2000, 422, "VALIDATION_ERROR"),
])
def test_entries_bad_query(api: Api, pair: tuple[User, User], query: str, status: int, code: str) -> None:
    alice, _ = pair
    reply = api.call("GET", f"/accounts/me/entries?{query}", token=alice.token)
    assert (reply.status, reply.code) == (status, code), reply.body


def test_entries_token_of_another_user_is_refused(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    stolen = encode_page_token("ENTRY#9999", alice.account_id)
    reply = api.call("GET", f"/accounts/me/entries?next_token={stolen}", token=bob.token)
    assert (reply.status, reply.code) == (400, "INVALID_NEXT_TOKEN")


@pytest.mark.parametrize("who,path,body,key,status,code", [
    ("user", "/admin/accounts/{acc}/deposits", money(5), "k", 403, "FORBIDDEN"),
    ("admin", "/admin/accounts/{acc}/deposits", money(5), None, 400, "IDEMPOTENCY_KEY_REQUIRED"),
    ("admin", "/admin/accounts/acc_nothere/deposits", money(5), "k", 404, "ACCOUNT_NOT_FOUND"),
    ("admin", "/admin/accounts/not-an-id/deposits", money(5), "k", 422, "VALIDATION_ERROR"),
    ("admin", "/admin/accounts/{acc}/deposits", money(-5), "k", 422, "VALIDATION_ERROR"),
    ("admin", "/admin/accounts/{acc}/deposits", money(5, "USD"), "k", 422, "UNSUPPORTED_CURRENCY"),
])
def test_deposit_bad_input(api: Api, pair: tuple[User, User], who: str, path: str, body: Any, key: str | None,
                           status: int, code: str) -> None:
    alice, _ = pair
    token = api.token("ops", "admin") if who == "admin" else alice.token
    before = snapshot(api)
    reply = api.call("POST", path.format(acc=alice.account_id), {"amount": body}, token=token, key=key)
    assert (reply.status, reply.code) == (status, code), reply.body
    assert snapshot(api) == before


def test_form_encoded_body_is_415(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    before = snapshot(api)
    reply = api.call("POST", "/transfers", token=alice.token, key="form",
                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                     raw=json.dumps({"to_account_id": bob.account_id, "amount": money(1)}).encode())
    assert (reply.status, reply.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert snapshot(api) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "application/xml"])
def test_non_json_content_types_are_415(api: Api, pair: tuple[User, User], content_type: str) -> None:
    # found by schemathesis: Powertools raises RequestUnsupportedContentType, which must not become a 500
    alice, bob = pair
    before = snapshot(api)
    reply = api.call("POST", "/transfers", token=alice.token, key="ct", headers={"Content-Type": content_type},
                     raw=json.dumps({"to_account_id": bob.account_id, "amount": money(1)}).encode())
    assert (reply.status, reply.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert snapshot(api) == before
