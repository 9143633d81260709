"""Partner administration and the RFC 9421 signature checks of partner requests, over HTTP on the local stack."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.binding import signatures
from tests.binding.conftest import Bank, CallbackServer, binding_items, card_token, create_partner, phone
from tests.conftest import Api


def admin(api: Api) -> str:
    return api.token("ops-admin", "admin")


def test_a_request_signed_with_the_library_client_verifies(bank: Bank) -> None:
    reply = bank.request(phone(), card_token())
    assert reply.status == 202, reply.body


def test_the_stage_prefixed_uri_is_what_is_signed(bank: Bank) -> None:
    """On the execute-api endpoint the URL carries the stage; the platform rebuilds it from requestContext.path."""
    base = bank.api.base + "/dev"
    body = {"customer": {"phone": phone(), "name": "Li Hua", "id_number": "11010519491231002X"},
            "card": {"token": card_token(), "last4": "1234", "type": "DEBIT"}, "bank_customer_ref": "c-1"}
    reply = bank.call("POST", "/partners/bindings", body, key=str(uuid.uuid4()), base=base)
    assert reply.status == 202, reply.body
    # The same request signed for the URL without the stage does not verify when sent with it.
    hdrs = signatures.sign("POST", bank.api.base + "/partners/bindings", {"Content-Type": "application/json"},
                           json.dumps(body).encode(), bank.key_id, bank.secret)
    wrong = bank.api.call("POST", "/dev/partners/bindings", token=bank.token, key=str(uuid.uuid4()), headers=hdrs,
                          raw=json.dumps(body).encode())
    assert wrong.status == 401 and wrong.code == "SIGNATURE_INVALID", wrong.body


def _body() -> dict:
    return {"customer": {"phone": phone(), "name": "Li Hua", "id_number": "11010519491231002X"},
            "card": {"token": card_token(), "last4": "1234", "type": "DEBIT"}, "bank_customer_ref": "c-1"}


@pytest.mark.parametrize("case,code", [
    ("unsigned", "SIGNATURE_MISSING"),
    ("wrong_key", "SIGNATURE_INVALID"),
    ("stale", "SIGNATURE_EXPIRED"),
    ("future", "SIGNATURE_EXPIRED"),
    ("body_changed", "DIGEST_MISMATCH"),
    ("unknown_key_id", "KEY_NOT_PARTNERS"),
])
def test_refused_signatures_are_401_with_their_code_and_touch_nothing(bank: Bank, case: str, code: str) -> None:
    body = _body()
    kwargs: dict = {"key": str(uuid.uuid4())}
    if case == "unsigned":
        kwargs["sign"] = False
    elif case == "wrong_key":
        kwargs["secret"] = b"x" * 32
    elif case == "stale":
        kwargs["created"] = datetime.now(UTC) - timedelta(minutes=6)
    elif case == "future":
        kwargs["created"] = datetime.now(UTC) + timedelta(minutes=2)
    elif case == "body_changed":
        kwargs["tamper"] = {**body, "bank_customer_ref": "c-2"}
    elif case == "unknown_key_id":
        kwargs["key_id"] = "k_0000000000000000"
    reply = bank.call("POST", "/partners/bindings", body, **kwargs)
    assert reply.status == 401 and reply.code == code, reply.body
    assert binding_items(bank.api.stack) == []


def test_missing_components_are_refused(bank: Bank) -> None:
    from types import SimpleNamespace

    from http_message_signatures import HTTPMessageSigner, algorithms

    from shared.binding.signatures import _Keys

    raw = json.dumps(_body()).encode()
    hdrs = {"Content-Type": "application/json"}
    message = SimpleNamespace(method="POST", url=bank.api.base + "/partners/bindings", headers=hdrs)
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys({bank.key_id: bank.secret})).sign(
        message, key_id=bank.key_id, nonce="nonce-without-digest", covered_component_ids=("@method", "@target-uri"))
    reply = bank.api.call("POST", "/partners/bindings", token=bank.token, key=str(uuid.uuid4()), headers=hdrs, raw=raw)
    assert reply.status == 401 and reply.code == "SIGNATURE_COMPONENTS_MISSING", reply.body


def test_an_exact_replay_is_refused_not_answered_from_the_idempotency_record(bank: Bank) -> None:
    body = _body()
    hdrs = signatures.sign("POST", bank.api.base + "/partners/bindings", {"Content-Type": "application/json"},
                           json.dumps(body).encode(), bank.key_id, bank.secret)
    first = bank.api.call("POST", "/partners/bindings", token=bank.token, key="k-replay", headers=dict(hdrs),
                          raw=json.dumps(body).encode())
    assert first.status == 202, first.body
    again = bank.api.call("POST", "/partners/bindings", token=bank.token, key="k-replay", headers=dict(hdrs),
                          raw=json.dumps(body).encode())
    assert again.status == 401 and again.code == "NONCE_REPLAYED", again.body
    # A fresh signature with the same Idempotency-Key is the idempotent replay.
    replay = bank.call("POST", "/partners/bindings", body, key="k-replay")
    assert replay.status == 202 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.body["binding_request_id"] == first.body["binding_request_id"]


def test_another_partners_key_and_requests_are_not_yours(api: Api, bank: Bank, callbacks: CallbackServer) -> None:
    other = create_partner(api, callbacks, "Other Bank")
    reply = bank.call("POST", "/partners/bindings", _body(), key=str(uuid.uuid4()), key_id=other.key_id,
                      secret=other.secret)
    assert reply.status == 401 and reply.code == "KEY_NOT_PARTNERS", reply.body
    mine = bank.request(phone(), card_token()).body["binding_request_id"]
    seen = other.get(mine)
    assert seen.status == 404 and seen.code == "BINDING_REQUEST_NOT_FOUND", seen.body
    assert other.confirm(mine, "acc_b" + "0" * 31, card_token()).status == 404


def test_a_user_or_a_token_without_partner_id_is_refused(api: Api, bank: Bank) -> None:
    user = api.token("someone")
    assert api.call("GET", "/partners/bindings/br_" + "0" * 24, token=user).status == 403
    no_id = api.token("bank-x", "partner")
    reply = api.call("GET", "/partners/bindings/br_" + "0" * 24, token=no_id)
    assert reply.status == 403 and reply.code == "PARTNER_REQUIRED"


def test_rotation_keeps_the_old_key_for_the_grace_period_and_callbacks_use_the_new(api: Api, bank: Bank) -> None:
    reply = api.call("POST", f"/admin/partners/{bank.partner_id}/keys", token=admin(api), key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body
    new_id, new_secret = reply.body["key_id"], base64.b64decode(reply.body["secret"])
    old = next(k for k in reply.body["partner"]["keys"] if k["key_id"] == bank.key_id)
    assert old["valid_until"] is not None
    assert bank.request(phone(), card_token()).status == 202  # the old key still works
    assert bank.call("POST", "/partners/bindings", _body(), key=str(uuid.uuid4()), key_id=new_id,
                     secret=new_secret).status == 202


def test_an_expired_key_is_refused(api: Api, bank: Bank) -> None:
    spec = api.stack.registry.specs["RotatePartnerKeyFunction"]
    before = dict(spec.environment)
    spec.environment["BINDING_KEY_GRACE_SECONDS"] = "0"
    try:
        assert api.call("POST", f"/admin/partners/{bank.partner_id}/keys", token=admin(api),
                        key=str(uuid.uuid4())).status == 201
    finally:
        spec.environment.clear()
        spec.environment.update(before)
    reply = bank.request(phone(), card_token())
    assert reply.status == 401 and reply.code == "KEY_EXPIRED", reply.body


def test_suspension_refuses_requests_and_its_reversal_restores_them(api: Api, bank: Bank) -> None:
    path = f"/admin/partners/{bank.partner_id}/suspension"
    assert api.call("POST", path, {"reason": "contract paused"}, token=admin(api)).body["status"] == "SUSPENDED"
    refused = bank.request(phone(), card_token())
    assert refused.status == 403 and refused.code == "PARTNER_SUSPENDED"
    assert api.call("DELETE", path, token=admin(api)).body["status"] == "ACTIVE"
    assert bank.request(phone(), card_token()).status == 202


def test_admin_routes_need_the_admin_role_and_existing_partners(api: Api, bank: Bank) -> None:
    user = api.token("someone")
    assert api.call("POST", "/admin/partners", {"name": "X", "callback_url": "https://x.example/cb"}, token=user,
                    key="k1").status == 403
    missing = api.call("POST", "/admin/partners/ptn_0000000000000000/keys", token=admin(api), key="k2")
    assert missing.status == 404 and missing.code == "PARTNER_NOT_FOUND"
    assert api.call("POST", "/admin/partners", {"name": "X", "callback_url": "https://x.example/cb"},
                    token=admin(api)).code == "IDEMPOTENCY_KEY_REQUIRED"


def test_signed_partner_requests_without_idempotency_key_are_400_and_store_nothing(bank: Bank) -> None:
    rid = "br_" + "0" * 24
    for path, body in (("/partners/bindings", _body()),
                       (f"/partners/bindings/{rid}/confirmation", {"account_id": "acc_x", "card_token": card_token()}),
                       (f"/partners/bindings/{rid}/rejection", {"reason": "no"})):
        reply = bank.call("POST", path, body)  # signed, no Idempotency-Key
        assert reply.status == 400 and reply.code == "IDEMPOTENCY_KEY_REQUIRED", (path, reply.body)
    assert binding_items(bank.api.stack) == []


@pytest.mark.parametrize("body", [
    {"name": "X", "callback_url": "ftp://bank.example/cb"},
    {"name": "X\u202e", "callback_url": "https://bank.example/cb"},
    {"name": "X" * 81, "callback_url": "https://bank.example/cb"},
    {"name": "X", "callback_url": "https://bank.example/" + "a" * 600},
    {"name": "X", "callback_url": "https://user:pw@bank.example/cb"},
    {"name": "4111 1111 1111 1111", "callback_url": "https://bank.example/cb"},
])
def test_bad_partner_input_is_4xx(api: Api, body: dict) -> None:
    reply = api.call("POST", "/admin/partners", body, token=admin(api), key=str(uuid.uuid4()))
    assert 400 <= reply.status < 500, reply.body
    assert api.stack.client("dynamodb").scan(TableName="PartnersTable")["Items"] == []


def test_the_partner_secret_is_not_stored_in_clear_and_a_replay_returns_none(api: Api,
                                                                            callbacks: CallbackServer) -> None:
    body = {"name": "Secret Bank", "callback_url": callbacks.url}
    first = api.call("POST", "/admin/partners", body, token=admin(api), key="partner-once")
    assert first.status == 201 and first.body["secret"]
    secret = first.body["secret"]
    replay = api.call("POST", "/admin/partners", body, token=admin(api), key="partner-once")
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.body["secret"] is None and replay.body["key_id"] == first.body["key_id"]
    raw_secret = base64.b64decode(secret)
    ddb = api.stack.client("dynamodb")
    for table in ("IdempotencyTable", "PartnersTable"):
        dump = json.dumps(ddb.scan(TableName=table)["Items"])
        assert secret not in dump and raw_secret.hex() not in dump
        assert base64.b64encode(raw_secret).decode() not in dump


def test_a_retried_creation_or_rotation_answers_what_it_made(api: Api, callbacks: CallbackServer) -> None:
    """The route re-run with the same Idempotency-Key (its idempotency record lost to a crash past the commit, or
    expired) answers the partner and key it made, the secret opened again: never a second partner or key."""
    from shared.binding import wiring
    from shared.binding.settings import BindingSettings

    env = api.stack.registry.environment("RotatePartnerKeyFunction")
    partners = wiring.partners(BindingSettings.model_validate({k.lower(): v for k, v in env.items()}))
    name = f"Retry Bank {uuid.uuid4().hex[:6]}"
    first = partners.create(name, callbacks.url, "ops-admin", "key-create-1")
    again = partners.create(name, callbacks.url, "ops-admin", "key-create-1")
    assert (again[0].partner_id, again[1].key_id, again[2]) == (first[0].partner_id, first[1].key_id, first[2])
    other = partners.create(name, callbacks.url, "ops-admin", "key-create-2")  # another request: another partner
    assert other[0].partner_id != first[0].partner_id
    rotated = partners.rotate(first[0].partner_id, "key-rotate-1")
    retried = partners.rotate(first[0].partner_id, "key-rotate-1")
    assert (retried[1].key_id, retried[2]) == (rotated[1].key_id, rotated[2]) and len(retried[0].keys) == 2
