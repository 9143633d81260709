"""Identity-verification fixtures: seeded registry, activity histories in the signals table, and a driver for the
API flows. ``STUDENT``/``WORKER`` name generated persona histories (``tests/signals/history.py``) that score
clearly above / below the student model's threshold."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local_stack import LocalStack
from local_stack.demo_data import seed_registry
from local_stack.realname_demo import DEMO_IDENTITIES, DemoIdentity, seed_real_name
from shared.identity.repository import DynamoIdentityStore
from tests.conftest import Api, Reply, new_key
from tests.identity.documents import card_jpeg
from tests.signals.history import persona_history, write_history

STATE_MACHINE = "IdentityVerificationStateMachine"
STUDENT = "university_student"  # a history that scores above the student threshold
WORKER = "young_worker"  # ... and one that scores below it
CLAIM = {"name": "Li Hua", "school": "Peking University", "student_number": "PKU2024001"}
JPEG = card_jpeg("conftest")  # a decodable credential image; uploads default to one of their own per attempt
LI_HUA = DEMO_IDENTITIES[5]  # the real-name identity of the registry's Li Hua (local_stack/demo_data.py)


@dataclass
class Person:
    sub: str
    token: str


class Identity:
    """Drives the identity API like a client app and a reviewer would."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.stack: LocalStack = api.stack
        self.ddb = self.stack.client("dynamodb")
        self.store = DynamoIdentityStore("IdentityTable", self.ddb)
        seed_registry(self.ddb)
        self.reviewer = Person("reviewer-1", api.token("reviewer-1", "reviewer"))

    def person(self, persona: str | None = STUDENT, real_name: DemoIdentity | None = LI_HUA) -> Person:
        """A user with an activity history who is real-name verified (§5) as ``real_name`` (Li Hua, whose
        registry record CLAIM names, by default; None: not real-name verified)."""
        sub = f"user-{uuid.uuid4().hex[:8]}"
        if persona is not None:
            write_history(self.ddb, persona_history(persona, above=persona == STUDENT), sub)
        if real_name is not None:
            seed_real_name(self.ddb, self.stack.client("secretsmanager"), sub, real_name)
        return Person(sub, self.api.token(sub))

    def start(self, who: Person, claimed: dict[str, Any] | None = None, identity_type: str = "student") -> Reply:
        return self.api.call("POST", "/identity-verifications",
                             {"identity_type": identity_type, "claimed": claimed or CLAIM}, token=who.token,
                             key=new_key())

    def get(self, who: Person, verification_id: str) -> Reply:
        return self.api.call("GET", f"/identity-verifications/{verification_id}", token=who.token)

    def wait_status(self, who: Person, verification_id: str, *statuses: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            reply = self.get(who, verification_id)
            assert reply.status == 200, reply.body
            if reply.body["status"] in statuses:
                return reply.body  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"still {reply.body['status']}, wanted {statuses}: {reply.body}"
            time.sleep(0.05)

    def execution(self, verification_id: str, timeout: float = 20) -> dict[str, Any]:
        arn = self.stack.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:")
        return self.stack.wait_execution(f"{arn}:{verification_id}", timeout)

    def history(self, verification_id: str) -> list[dict[str, Any]]:
        arn = self.stack.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:")
        sfn = self.stack.client("stepfunctions")
        return sfn.get_execution_history(executionArn=f"{arn}:{verification_id}", maxResults=1000)["events"]

    def ticket(self, who: Person, verification_id: str, content_type: str = "image/jpeg",
               credential_number: str = "PKU2024001", valid_until: str | None = None) -> Reply:
        body = {"content_type": content_type, "credential_number": credential_number}
        if valid_until:
            body["valid_until"] = valid_until
        ticket = self.api.call("POST", f"/identity-verifications/{verification_id}/documents", body,
                               token=who.token)
        assert ticket.status == 201, ticket.body
        return ticket

    @staticmethod
    def post_form(ticket: Reply, data: bytes, **changed_fields: str) -> requests.Response:
        """The browser-form upload a client makes with the ticket (S3 presigned POST), fields changed at will."""
        fields = {**ticket.body["fields"], **changed_fields}
        return requests.post(ticket.body["upload_url"], data=fields,
                             files={"file": ("card.jpg", data, fields.get("Content-Type", "image/jpeg"))}, timeout=60)

    def upload(self, who: Person, verification_id: str, data: bytes | None = None, content_type: str = "image/jpeg",
               credential_number: str = "PKU2024001", sent_type: str | None = None,
               valid_until: str | None = None) -> Reply:
        """Upload a credential within the upload form's policy (key, content type, size); by default an image
        of this attempt's own (another account's image would be DOCUMENT_IMAGE_REUSED)."""
        ticket = self.ticket(who, verification_id, content_type, credential_number, valid_until)
        data = card_jpeg(verification_id) if data is None else data
        resp = self.post_form(ticket, data, **({"Content-Type": sent_type} if sent_type else {}))
        assert resp.status_code in (200, 201, 204), resp.text
        return ticket

    def put_directly(self, who: Person, verification_id: str, data: bytes, stored_type: str) -> Reply:
        """An object under the ticket's key that did not come through the form (a policy bypass, say)."""
        ticket = self.ticket(who, verification_id)
        bucket = ticket.body["upload_url"].rstrip("/").rsplit("/", 1)[-1]
        self.stack.client("s3").put_object(Bucket=bucket, Key=ticket.body["fields"]["key"], Body=data,
                                           ContentType=stored_type)
        return ticket

    def submit(self, who: Person, verification_id: str) -> Reply:
        return self.api.call("POST", f"/identity-verifications/{verification_id}/documents/submit", {},
                             token=who.token)

    def reviews(self, who: Person | None = None) -> Reply:
        return self.api.call("GET", "/reviews?status=OPEN", token=(who or self.reviewer).token)

    def decide(self, review_id: str, decision: str, who: Person | None = None, reason: str = "checked") -> Reply:
        return self.api.call("POST", f"/reviews/{review_id}/decision", {"decision": decision, "reason": reason},
                             token=(who or self.reviewer).token)

    def identities(self, who: Person) -> list[dict[str, Any]]:
        reply = self.api.call("GET", "/me/identities", token=who.token)
        assert reply.status == 200, reply.body
        return reply.body["items"]  # type: ignore[no-any-return]

    def review_for(self, verification_id: str) -> dict[str, Any]:
        reply = self.reviews()
        assert reply.status == 200, reply.body
        items = [i for i in reply.body["items"] if i["verification_id"] == verification_id]
        assert items, reply.body
        return items[0]  # type: ignore[no-any-return]


@pytest.fixture
def identity(api: Api) -> Iterator[Identity]:
    driver = Identity(api)
    yield driver
    # Executions still waiting (documents, reviews) would otherwise outlive the test and fail on the next reset.
    sfn = driver.stack.client("stepfunctions")
    arn = driver.stack.state_machine_arn(STATE_MACHINE)
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"], cause="test finished")


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)
