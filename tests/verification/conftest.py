"""Helpers for driving adaptive verification over the local API (the session stack of tests/conftest.py)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from local_stack import LocalStack, tokens
from tests.conftest import Api, Reply
from tests.fakes.bindings import CARD, BindingFixture, install


@dataclass
class Customer:
    sub: str
    token: str
    account_id: str
    phone: str
    device: str = "dev-phone-a1"
    session: str = "sess-a1"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Session-Id": self.session, "X-Device-Id": self.device}


class VerificationApi:
    def __init__(self, api: Api, stack: LocalStack) -> None:
        self.api = api
        self.stack = stack
        self.n = 0

    def customer(self, balance: int = 0, phone: str | None = None) -> Customer:
        self.n += 1
        sub = f"cust-{uuid.uuid4().hex[:8]}"
        phone = phone or f"+86139{uuid.uuid4().int % 10**8:08d}"
        token = tokens.issue(sub, phone_number=phone)
        reply = self.api.call("POST", "/accounts", {}, token=token, key=f"reg-{sub}")
        assert reply.status == 201, reply.body
        account_id = reply.body["account_id"]
        if balance:
            self.api.deposit(account_id, balance)
        return Customer(sub, token, account_id, phone)

    def age_account(self, c: Customer, days: int) -> None:
        """Pretend the account was opened ``days`` ago (the emulator's item; no waiting)."""
        import boto3

        from shared.clock import iso, utcnow

        table = self.stack.template.physical_name("AccountsTable")
        boto3.client("dynamodb").update_item(
            TableName=table, Key={"pk": {"S": f"ACCOUNT#{c.account_id}"}}, UpdateExpression="SET created_at = :t",
            ExpressionAttributeValues={":t": {"S": iso(utcnow() - timedelta(days=days))}})

    def age_devices(self, c: Customer, days: int) -> None:
        """Pretend the customer's devices were first seen ``days`` ago (the signals profile item; no waiting)."""
        import boto3

        from shared.clock import iso, utcnow

        table = self.stack.template.physical_name("SignalsTable")
        ddb = boto3.client("dynamodb")
        key = {"pk": {"S": f"USER#{c.sub}"}, "sk": {"S": "PROFILE"}}
        devices = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["devices"]["L"]
        for n in range(len(devices)):
            ddb.update_item(TableName=table, Key=key, UpdateExpression=f"SET devices[{n}].first_seen = :t",
                            ExpressionAttributeValues={":t": {"S": iso(utcnow() - timedelta(days=days))}})

    def sign_in(self, c: Customer, network: str = "WIFI", geo: dict[str, float] | None = None) -> dict[str, Any]:
        """``POST /sessions`` on the customer's device: the session becomes the customer's ``X-Session-Id``."""
        body: dict[str, Any] = {"device_id": c.device, "network": network,
                                "client": {"os": "Android 14", "app_version": "3.2.1"}}
        if geo:
            body["geo"] = geo
        reply = self.api.call("POST", "/sessions", body, token=c.token, key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        c.session = reply.body["session_id"]
        return reply.body  # type: ignore[no-any-return]

    def strong_pass(self, c: Customer, binding: BindingFixture, minutes_ago: float = 0) -> None:
        """A CARD verification passed over the API on the customer's device (the binding fixture gives the card),
        then, with ``minutes_ago``, moved back in time in the history item (no waiting)."""
        binding.bind(c.sub)
        trigger = self.trigger(c, "LOGIN")
        assert "CARD" in trigger.body["methods"], trigger.body
        passed = self.attempt(c, trigger.body["verification_id"], method="CARD", card=CARD)
        assert passed.body["result"] == "PASSED", passed.body
        if minutes_ago:
            import boto3

            from shared.clock import iso, utcnow

            at = iso(utcnow() - timedelta(minutes=minutes_ago))
            table = self.stack.template.physical_name("VerificationsTable")
            boto3.client("dynamodb").update_item(
                TableName=table, Key={"pk": {"S": f"HIST#{c.sub}"}},
                UpdateExpression="SET strong_devices.#d = :t, last_strong_at = :t",
                ExpressionAttributeNames={"#d": c.device}, ExpressionAttributeValues={":t": {"S": at}})

    def profile(self, c: Customer) -> dict[str, Any]:
        reply = self.api.call("GET", "/me/activity-profile", token=c.token)
        assert reply.status == 200, reply.body
        return reply.body  # type: ignore[no-any-return]

    def trigger(self, c: Customer, operation: str, headers: dict[str, str] | None = None, **context: Any) -> Reply:
        body = {"operation": operation, "context": {"device_id": c.device, "network": "WIFI", **context}}
        return self.api.call("POST", "/verifications", body, token=c.token, key=str(uuid.uuid4()),
                             headers={**c.headers, **(headers or {})})

    def send_otp(self, c: Customer, verification_id: str) -> Reply:
        return self.api.call("POST", f"/verifications/{verification_id}/otp", {}, token=c.token, key=str(uuid.uuid4()))

    def attempt(self, c: Customer, verification_id: str, key: str | None = None, **answer: Any) -> Reply:
        return self.api.call("POST", f"/verifications/{verification_id}/attempts", answer, token=c.token,
                             key=key or str(uuid.uuid4()))

    def outbox(self, phone: str) -> list[dict[str, str]]:
        url = f"{self.api.base}/local/outbox?phone={urllib.request.quote(phone)}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            return list(json.loads(resp.read())["messages"])

    def code(self, phone: str) -> str:
        text = self.outbox(phone)[0]["text"]
        return next(w for w in text.replace(".", " ").split() if w.isdigit() and len(w) == 6)

    def token_for(self, c: Customer, operation: str, **context: Any) -> str:
        """Trigger, send the OTP, pass: the verification token."""
        reply = self.trigger(c, operation, **context)
        assert reply.status == 201 and reply.body["decision"] == "CHALLENGE", reply.body
        vid = reply.body["verification_id"]
        assert "SMS_OTP" in reply.body["methods"], reply.body
        assert self.send_otp(c, vid).status == 200
        passed = self.attempt(c, vid, method="SMS_OTP", otp=self.code(c.phone))
        assert passed.status == 200 and passed.body["result"] == "PASSED", passed.body
        return str(passed.body["token"])


@pytest.fixture
def binding(clean_stack: LocalStack) -> BindingFixture:
    """A bank binding for the CARD method, written through binding's store (CONTRACTS.md)."""
    return install(clean_stack)


@pytest.fixture
def v(api: Api, clean_stack: LocalStack) -> VerificationApi:
    return VerificationApi(api, clean_stack)
