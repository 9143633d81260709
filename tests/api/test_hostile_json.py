"""Hostile JSON on every documented route with a body: a 4xx with a clear code, never a 5xx, nothing stored.

The routes come from the merged OpenAPI document, so a new route is covered as soon as it exists.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from local_stack.functions import FunctionRegistry
from local_stack.openapi import build_openapi
from local_stack.template import Template
from tests.conftest import Api

DOC = build_openapi(FunctionRegistry(Template()))
BODY_ROUTES = sorted(
    (method.upper(), path)
    for path, item in DOC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "requestBody" in op
)

HOSTILE: dict[str, tuple[bytes, int, str]] = {
    "5,000-digit integer": (b'{"amount": {"amount": ' + b"9" * 5_000 + b', "currency": "CNY"}}', 400, "INVALID_JSON"),
    "200,000-deep array": (b"[" * 200_000 + b"]" * 200_000, 400, "INVALID_JSON"),
    "200,000-deep object": (b'{"a":' * 200_000 + b"1" + b"}" * 200_000, 400, "INVALID_JSON"),
    "NaN": (b'{"amount": NaN}', 400, "INVALID_JSON"),
    "array of objects": (b'[{"name": "x"}, {"name": "y"}]', 422, "VALIDATION_ERROR"),
    "string": (b'"hello"', 422, "VALIDATION_ERROR"),
    "number": (b"42", 422, "VALIDATION_ERROR"),
}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_1", path)


def everything(api: Api) -> dict[str, Any]:
    ddb = api.stack.client("dynamodb")
    return {t: sorted(map(str, ddb.scan(TableName=t)["Items"])) for t in ddb.list_tables()["TableNames"]}


def test_routes_with_bodies_are_found() -> None:
    assert ("POST", "/transfers") in BODY_ROUTES and len(BODY_ROUTES) >= 15


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_hostile_bodies_are_refused_everywhere(api: Api, shape: str) -> None:
    raw, status, code = HOSTILE[shape]
    token = api.token("hostile", "admin", "reviewer", "internal")
    before = everything(api)
    for method, path in BODY_ROUTES:
        reply = api.call(method, concrete(path), token=token, key=f"hostile-{shape}", raw=raw)
        assert (reply.status, reply.code) == (status, code), (method, path, reply.status, reply.body)
    assert everything(api) == before


def test_an_array_of_transfers_moves_nothing(api: Api) -> None:
    # The probe: POST /transfers [{...7...}, {...9...}] answered 201 for the first element and dropped the second.
    alice, bob = api.user("alice", balance=1_000), api.user("bob")
    body = [{"to_account_id": bob.account_id, "amount": {"amount": 7, "currency": "CNY"}},
            {"to_account_id": bob.account_id, "amount": {"amount": 9, "currency": "CNY"}}]
    reply = api.call("POST", "/transfers", body, token=alice.token, key="array")
    assert (reply.status, reply.code) == (422, "VALIDATION_ERROR")
    assert api.balance(alice) == 1_000 and api.balance(bob) == 0
