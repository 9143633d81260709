"""The user's phone (CONTRACTS.md): recorded at registration from the phone_number claim, unique across accounts,
masked in responses; locally `POST /local/token {"phone_number"}` signs in the user who holds that phone."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from local_stack import tokens
from tests.conftest import Api


def local_token(api: Api, body: Any) -> tuple[int, Any]:
    req = urllib.request.Request(api.base + "/local/token", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_phone_is_recorded_unique_and_masked(api: Api) -> None:
    phone = "+8613812345678"
    alice = tokens.issue("alice", phone_number=phone)
    reply = api.call("POST", "/accounts", {}, token=alice, key="reg-alice")
    assert reply.status == 201, reply.body
    assert reply.body["phone"] == "+86138****5678"
    me = api.call("GET", "/accounts/me", token=alice)
    assert me.body["phone"] == "+86138****5678" and phone not in json.dumps(me.body)

    mallory = tokens.issue("mallory", phone_number=phone)  # a second user claiming the same number
    taken = api.call("POST", "/accounts", {}, token=mallory, key="reg-mallory")
    assert (taken.status, taken.code) == (409, "PHONE_IN_USE")
    assert api.call("GET", "/accounts/me", token=mallory).status == 404  # nothing was created for mallory


def test_local_token_by_phone_signs_in_its_holder(api: Api) -> None:
    phone = "+8613900001111"
    api.call("POST", "/accounts", {}, token=tokens.issue("bank-customer", phone_number=phone), key="reg")
    status, body = local_token(api, {"phone_number": phone})
    assert status == 200
    me = api.call("GET", "/accounts/me", token=body["token"])
    assert me.status == 200 and me.body["owner"] == "bank-customer"

    assert local_token(api, {"phone_number": "+8613900002222"})[0] == 404  # nobody holds it
    for bad in ({"phone_number": "13900001111"}, {"phone_number": 5}, {}, {"sub": ""}, []):
        assert local_token(api, bad)[0] == 422, bad


def test_a_malformed_phone_claim_is_ignored(api: Api) -> None:
    reply = api.call("POST", "/accounts", {}, token=tokens.issue("odd", phone_number="not-a-phone"), key="reg")
    assert reply.status == 201 and reply.body["phone"] is None
