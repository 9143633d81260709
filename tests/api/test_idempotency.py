"""Idempotency-Key on every mutating route: replays return the first response and move nothing more."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api, Reply, User


def ledger_items(api: Api) -> int:
    return int(api.stack.client("dynamodb").scan(TableName="LedgerTable", Select="COUNT")["Count"])


def same(a: Reply, b: Reply) -> bool:
    return (a.status, a.body) == (b.status, b.body)


@pytest.fixture
def pair(api: Api) -> tuple[User, User]:
    return api.user("alice", balance=10_000), api.user("bob")


def test_transfer_replayed_1_to_10_times_moves_money_once(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    body = {"to_account_id": bob.account_id, "amount": {"amount": 700, "currency": "CNY"}}
    for n, key in enumerate(["a", "b", "c"], start=1):
        replays = random.Random(n).randint(1, 10)
        first = api.call("POST", "/transfers", body, token=alice.token, key=key)
        assert first.status == 201
        for _ in range(replays):
            again = api.call("POST", "/transfers", body, token=alice.token, key=key)
            assert same(first, again)
            assert again.headers.get("Idempotent-Replayed") == "true"
    assert api.balance(alice) == 10_000 - 3 * 700
    assert api.balance(bob) == 3 * 700


def test_deposit_replayed(api: Api, pair: tuple[User, User]) -> None:
    _, bob = pair
    admin = api.token("ops", "admin")
    body = {"amount": {"amount": 5_000, "currency": "CNY"}}
    first = api.call("POST", f"/admin/accounts/{bob.account_id}/deposits", body, token=admin, key="dep-1")
    assert first.status == 201
    for _ in range(random.randint(1, 10)):
        assert same(first, api.call("POST", f"/admin/accounts/{bob.account_id}/deposits", body, token=admin,
                                    key="dep-1"))
    assert api.balance(bob) == 5_000


def test_register_replayed_returns_the_same_account(api: Api) -> None:
    token = api.token("zoe")
    first = api.call("POST", "/accounts", {}, token=token, key="reg-1")
    assert first.status == 201
    for _ in range(random.randint(1, 10)):
        assert same(first, api.call("POST", "/accounts", {}, token=token, key="reg-1"))
    # with another key, a second registration is a conflict, not a replay; without one it is refused
    assert api.call("POST", "/accounts", {}, token=token, key="reg-2").status == 409
    assert api.call("POST", "/accounts", {}, token=token).code == "IDEMPOTENCY_KEY_REQUIRED"


@pytest.mark.parametrize("route", ["transfer", "deposit", "register"])
def test_same_key_different_body_is_rejected(api: Api, pair: tuple[User, User], route: str) -> None:
    alice, bob = pair
    admin = api.token("ops", "admin")
    one, two = {"amount": 1, "currency": "CNY"}, {"amount": 2, "currency": "CNY"}
    calls: dict[str, tuple[str, str, Any, Any, str]] = {
        "transfer": ("POST", "/transfers", {"to_account_id": bob.account_id, "amount": one},
                     {"to_account_id": bob.account_id, "amount": two}, alice.token),
        "deposit": ("POST", f"/admin/accounts/{bob.account_id}/deposits", {"amount": {"amount": 1, "currency": "CNY"}},
                    {"amount": {"amount": 9, "currency": "CNY"}}, admin),
        "register": ("POST", "/accounts", {}, {"currency": "CNY"}, api.token("yan")),
    }
    method, path, body1, body2, token = calls[route]
    assert api.call(method, path, body1, token=token, key="k-1").status == 201
    items = ledger_items(api)
    changed = api.call(method, path, body2, token=token, key="k-1")
    assert (changed.status, changed.code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert ledger_items(api) == items


def test_keys_are_scoped_to_the_caller(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    carol = api.user("carol", balance=1_000)
    body = {"to_account_id": bob.account_id, "amount": {"amount": 100, "currency": "CNY"}}
    assert api.call("POST", "/transfers", body, token=alice.token, key="shared").status == 201
    assert api.call("POST", "/transfers", body, token=carol.token, key="shared").status == 201
    assert api.balance(bob) == 200


def test_concurrent_duplicates_apply_once(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    body = {"to_account_id": bob.account_id, "amount": {"amount": 250, "currency": "CNY"}}
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda _: api.call("POST", "/transfers", body, token=alice.token, key="race"),
                                range(16)))
    ok = [r for r in replies if r.status == 201]
    assert ok, [r.body for r in replies]
    assert all(same(ok[0], r) for r in ok)
    assert all(r.status == 201 or (r.status, r.code) == (409, "REQUEST_IN_PROGRESS") for r in replies)
    assert api.balance(bob) == 250


def test_expired_idempotency_record_still_cannot_move_money_twice(api: Api, pair: tuple[User, User]) -> None:
    alice, bob = pair
    body = {"to_account_id": bob.account_id, "amount": {"amount": 300, "currency": "CNY"}}
    first = api.call("POST", "/transfers", body, token=alice.token, key="old")
    assert first.status == 201
    # Given the idempotency record has expired (Powertools checks `expiration` itself, not DynamoDB TTL)
    ddb = api.stack.client("dynamodb")
    for item in ddb.scan(TableName="IdempotencyTable")["Items"]:
        ddb.update_item(TableName="IdempotencyTable", Key={"id": item["id"]},
                        UpdateExpression="SET expiration = :past",
                        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 10)}})
    # When the same request comes again, the ledger's transaction id (derived from the key) makes it a no-op
    again = api.call("POST", "/transfers", body, token=alice.token, key="old")
    assert again.status == 201
    assert again.body["transaction_id"] == first.body["transaction_id"]
    assert api.balance(bob) == 300
