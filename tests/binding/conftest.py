"""Bank-binding fixtures: a partner bank with its signing key and an observable callback endpoint, driving the
local API with RFC 9421-signed requests (the library's client side)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local_stack import LocalStack
from shared.binding import signatures
from shared.identity_numbers import id_check_character
from tests.conftest import Api, Reply

STATE_MACHINE = "BindingStateMachine"


def id_number(seq: int = 1, born: str = "19900307") -> str:
    first17 = f"110105{born}{seq % 1000:03d}"
    return first17 + id_check_character(first17)


def phone() -> str:
    return "+86139" + str(uuid.uuid4().int)[:8]


_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def card_token() -> str:
    """A bank token without digit runs: a random run of 13+ digits may pass the Luhn check, and a PAN-like value
    is refused wherever it appears (as it should be)."""
    return "tok_" + uuid.uuid4().hex[:20].translate(_NO_DIGITS)


@dataclass
class CallbackServer:
    """The bank's callback URL: records every POST (headers, body); answers ``status``."""

    status: int = 204
    received: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> CallbackServer:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/wallet/callbacks"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Bank:
    api: Api
    partner_id: str
    key_id: str
    secret: bytes
    token: str
    callbacks: CallbackServer

    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None, sign: bool = True,
             key_id: str | None = None, secret: bytes | None = None, tamper: Any = None,
             headers: dict[str, str] | None = None, created: Any = None, nonce: str | None = None,
             base: str | None = None) -> Reply:
        raw = json.dumps(body).encode() if body is not None else b""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if sign:
            signatures.sign(method, (base or self.api.base) + path, hdrs, raw or None, key_id or self.key_id,
                            secret or self.secret, created=created, nonce=nonce)
        sent = json.dumps(tamper).encode() if tamper is not None else raw
        if base:
            sent_path = base.removeprefix(self.api.base) + path
            return self.api.call(method, sent_path, token=self.token, key=key, headers=hdrs,
                                 raw=sent if sent else None)
        return self.api.call(method, path, token=self.token, key=key, headers=hdrs, raw=sent if sent else None)

    def request(self, customer_phone: str, token: str, *, name: str = "Li Hua", id_no: str | None = None,
                ref: str | None = None, last4: str = "1234", type_: str = "DEBIT", key: str | None = None) -> Reply:
        body = {"customer": {"phone": customer_phone, "name": name, "id_number": id_no or id_number()},
                "card": {"token": token, "last4": last4, "type": type_, "expiry": "12/29"},
                "bank_customer_ref": ref or f"cust-{uuid.uuid4().hex[:8]}"}
        return self.call("POST", "/partners/bindings", body, key=key or str(uuid.uuid4()))

    def start(self, customer_phone: str, token: str, **kwargs: Any) -> str:
        """A new request's id (the reply is shown if it was not a 202)."""
        reply = self.request(customer_phone, token, **kwargs)
        assert reply.status == 202, (reply.status, reply.body)
        return str(reply.body["binding_request_id"])

    def get(self, request_id: str) -> Reply:
        return self.call("GET", f"/partners/bindings/{request_id}")

    def wait(self, request_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            reply = self.get(request_id)
            assert reply.status == 200, reply.body
            if reply.body["status"] in statuses:
                return reply.body  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"still {reply.body}, wanted {statuses}"
            time.sleep(0.05)

    def confirm(self, request_id: str, account_id: str, token: str, key: str | None = None) -> Reply:
        return self.call("POST", f"/partners/bindings/{request_id}/confirmation",
                         {"account_id": account_id, "card_token": token}, key=key or str(uuid.uuid4()))

    def reject(self, request_id: str, reason: str = "customer cancelled") -> Reply:
        return self.call("POST", f"/partners/bindings/{request_id}/rejection", {"reason": reason},
                         key=str(uuid.uuid4()))

    def bind(self, customer_phone: str, token: str, **kwargs: Any) -> dict[str, Any]:
        """A whole binding: request, wait for the account id, confirm, wait until BOUND."""
        reply = self.request(customer_phone, token, **kwargs)
        assert reply.status == 202, reply.body
        rid = reply.body["binding_request_id"]
        awaiting = self.wait(rid, "AWAITING_BANK", "FAILED")
        assert awaiting["status"] == "AWAITING_BANK", awaiting
        confirmed = self.confirm(rid, awaiting["account_id"], token)
        assert confirmed.status == 202, confirmed.body
        return self.wait(rid, "BOUND", "FAILED")


def binding_items(stack: LocalStack) -> list[dict[str, Any]]:
    """What the Bindings table holds beyond the partners' own events (a partner's creation or change puts its
    event there, in the outbox): requests, bindings, claims and any binding event."""
    items = stack.client("dynamodb").scan(TableName="BindingsTable", ConsistentRead=True)["Items"]
    return [i for i in items
            if not (i["pk"]["S"].startswith("OUTBOX#") and i["detail_type"]["S"].startswith("Partner"))]


def create_partner(api: Api, callbacks: CallbackServer, name: str = "Demo Bank") -> Bank:
    admin = api.token("ops-admin", "admin")
    reply = api.call("POST", "/admin/partners", {"name": name, "callback_url": callbacks.url}, token=admin,
                     key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body
    pid = reply.body["partner_id"]
    return Bank(api, pid, reply.body["key_id"], base64.b64decode(reply.body["secret"]),
                api.token(f"bank-{pid}", "partner", partner_id=pid), callbacks)


@pytest.fixture
def callbacks() -> Iterator[CallbackServer]:
    server = CallbackServer().start()
    yield server
    server.stop()


def forget_data_keys() -> None:
    """Binding's services are built once per settings value; tests that patch a factory (or the environment)
    rebuild them. (The data keys are ``shared.crypto``'s: ``PersonalDataKey`` keeps its id and key material
    across stack resets, so cached data keys stay valid.)"""
    from shared.binding import wiring

    for factory in (wiring.deps, wiring.partners, wiring.authenticator, wiring.requests, wiring.steps,
                     wiring.user_bindings, wiring.first_use_gate):
        factory.cache_clear()


@pytest.fixture
def bank(api: Api, callbacks: CallbackServer) -> Iterator[Bank]:
    forget_data_keys()
    yield create_partner(api, callbacks)
    stop_running(api.stack)


def stop_running(stack: LocalStack) -> None:
    """Executions still waiting would outlive the test and fail on the next reset."""
    sfn = stack.client("stepfunctions")
    arn = stack.state_machine_arn(STATE_MACHINE)
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"], cause="test finished")


def execution(stack: LocalStack, request_id: str, timeout: float = 30) -> dict[str, Any]:
    arn = stack.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:")
    return stack.wait_execution(f"{arn}:{request_id}", timeout)


def history(stack: LocalStack, request_id: str) -> list[dict[str, Any]]:
    arn = stack.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:")
    sfn = stack.client("stepfunctions")
    return sfn.get_execution_history(executionArn=f"{arn}:{request_id}", maxResults=1000)["events"]  # type: ignore[no-any-return]
