"""End-to-end over HTTP against the local stack: register, read, transfer, list entries, deposit."""

from __future__ import annotations

from tests.conftest import Api, new_key


def test_register_read_and_transfer(api: Api) -> None:
    # Given two users, Alice funded with 10,000 fen
    alice = api.user("alice", balance=10_000)
    bob = api.user("bob")

    # When Alice sends Bob 2,500 fen
    reply = api.call("POST", "/transfers", {"to_account_id": bob.account_id,
                                            "amount": {"amount": 2_500, "currency": "CNY"}, "note": "lunch"},
                     token=alice.token, key="t-1")

    # Then the transfer is recorded and both balances moved by exactly that amount
    assert reply.status == 201, reply.body
    assert reply.body["from_account_id"] == alice.account_id
    assert reply.body["to_account_id"] == bob.account_id
    assert reply.body["amount"] == {"amount": 2_500, "currency": "CNY"}
    assert api.balance(alice) == 7_500
    assert api.balance(bob) == 2_500

    entries = api.call("GET", "/accounts/me/entries", token=alice.token)
    assert entries.status == 200
    assert [(e["direction"], e["amount"]["amount"], e["type"]) for e in entries.body["items"]] == [
        ("DEBIT", 2_500, "P2P_TRANSFER"), ("CREDIT", 10_000, "DEPOSIT")]
    assert entries.body["items"][0]["note"] == "lunch"


def test_register_twice_is_409(api: Api) -> None:
    user = api.user("carol")
    again = api.call("POST", "/accounts", {}, token=user.token, key=new_key())
    assert again.status == 409
    assert again.code == "ACCOUNT_EXISTS"


def test_entries_paginate_newest_first(api: Api) -> None:
    alice = api.user("alice", balance=1_000)
    bob = api.user("bob")
    for i in range(5):
        r = api.call("POST", "/transfers", {"to_account_id": bob.account_id,
                                            "amount": {"amount": 10 + i, "currency": "CNY"}},
                     token=alice.token, key=f"p-{i}")
        assert r.status == 201
    seen: list[int] = []
    token = None
    while True:
        path = "/accounts/me/entries?limit=2" + (f"&next_token={token}" if token else "")
        page = api.call("GET", path, token=alice.token)
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= 2
        seen += [e["amount"]["amount"] for e in page.body["items"]]
        token = page.body["next_token"]
        if not token:
            break
    assert seen == [14, 13, 12, 11, 10, 1_000]


def test_no_account_is_404(api: Api) -> None:
    reply = api.call("GET", "/accounts/me", token=api.token("nobody"))
    assert reply.status == 404
    assert reply.code == "ACCOUNT_NOT_FOUND"
