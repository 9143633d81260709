"""Access control, generated from the API document: every route, every kind of wrong caller, nothing changes.

The routes come from the merged OpenAPI document of the template's functions (as ``/openapi.json`` serves it),
so a new route is swept as soon as it exists; ``route_classes.yaml`` says what each route acts on. A route
missing from it fails ``test_every_route_is_classified`` until it is classified.

For each route, with a victim who owns a real object of each kind the route names (a factory per kind), the
sweep calls it as: another user (``owner`` routes), a user without the role (``role`` routes), a partner of
another bank (``owner`` and ``role`` routes), without a token and with a tampered token (every route but the
public ones). Every call must be refused with 401/403/404, and the items the call could have touched — every
table of the template, scanned before and after (schedules held, nothing runs in the background) — must not
change.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local_stack import LocalStack
from local_stack.functions import FunctionRegistry
from local_stack.openapi import build_openapi
from local_stack.template import Template
from tests.conftest import Api, User, new_key
from tests.reliability.invariants import scan

CLASSES = yaml.safe_load((Path(__file__).parent / "route_classes.yaml").read_text())["routes"]
DOC = build_openapi(FunctionRegistry(Template()))
ROUTES = sorted(f"{method.upper()} {path}" for path, ops in DOC["paths"].items() for method in ops)
REFUSED = {401, 403, 404}


def test_every_route_is_classified() -> None:
    missing = [r for r in ROUTES if r not in CLASSES]
    stale = [r for r in CLASSES if r not in ROUTES]
    assert not missing, f"routes the access sweep cannot classify (add them to route_classes.yaml): {missing}"
    assert not stale, f"route_classes.yaml names routes the API no longer has: {stale}"


class Victim:
    """A user who owns one object of every kind, made on first use over the API."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.user: User = api.user(f"victim-{uuid.uuid4().hex[:6]}", balance=50_000)
        self.objects: dict[str, str] = {}
        self.factories: dict[str, Callable[[], str]] = {
            "account": lambda: self.user.account_id,
            "campaign": self._campaign, "voucher": self._voucher, "group": self._group,
            "invitation": self._invitation, "order": self._order, "order_code": self._order_code,
            "reversal": self._reversal, "verification": self._verification, "review": self._review,
            "user": lambda: self.user.sub, "tag": lambda: "HIGH_RISK", "device": self._device,
            "interaction_type": lambda: "SCAN",  # one the campaigns accept (campaign_body)
            "adaptive_verification": self._adaptive_verification,
            "photo": self._photo, "challenge": self._challenge, "realname_session": self._realname_session,
            "partner": self._partner, "binding_request": self._binding_request, "binding": self._binding,
            # what the binding request's bank confirms it with (the account the saga told it, the card's token)
            "binding_account": lambda: self._made_with("binding_request", "binding_account"),
            "binding_card_token": lambda: self._made_with("binding_request", "binding_card_token"),
            "second_binding_request": self._second_binding_request,
            # another user's objects: what the victim pays, joins or executes (its own would be a refusal)
            "payee_account": lambda: self.payee().account_id, "payee_invitation": self._payee_invitation,
            "payee_order_code": self._payee_order_code,
            # more campaigns: one a draw settles while the others stay open, one the victim is in no group of
            "campaign_to_draw": self._campaign, "spare_campaign": self._campaign,
        }
        self._bank: Any = None
        self._payee: User | None = None

    def get(self, kind: str) -> str:
        if kind not in self.objects:
            self.objects[kind] = self.factories[kind]()
        return self.objects[kind]

    def _campaign(self) -> str:
        from tests.campaigns.helpers import create_campaign

        return str(create_campaign(self.api)["campaign_id"])

    def _voucher(self) -> str:
        from tests.campaigns.helpers import claim, interact

        cid = self.get("campaign")
        assert interact(self.api, cid, self.user.sub).status == 201
        return str(claim(self.api, cid, self.user.token).body["voucher"]["voucher_id"])

    def _group(self) -> str:
        reply = self.api.call("POST", "/groups", {"name": "victims", "campaign_id": self.get("campaign")},
                              token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["group_id"])

    def _invitation(self) -> str:
        reply = self.api.call("POST", f"/groups/{self.get('group')}/invitations", token=self.user.token,
                              key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["code"])

    def _device(self) -> str:
        return self._sign_in(f"victim-device-{uuid.uuid4().hex[:8]}")

    def _sign_in(self, device: str) -> str:
        reply = self.api.call("POST", "/sessions", {"device_id": device, "network": "WIFI",
                                                    "client": {"os": "Android 14", "app_version": "3.2.1"}},
                              token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return device

    def _photo(self) -> str:
        from training.face_data import ensure_photos

        return base64.b64encode(ensure_photos()["obama"].read_bytes()).decode()

    def _challenge(self) -> str:
        reply = self.api.call("POST", "/real-name/challenges", token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["challenge_id"])

    def _realname_session(self) -> str:
        """A real-name session of the victim's: a selfie and the local generator's answer to a fresh challenge
        (the 2D-replay generator does not answer every random step sequence: a few challenges are drawn)."""
        replies = []
        for _ in range(8):
            challenge = self._challenge()
            frames = self.api.call("POST", "/local/real-name/liveness-frames",
                                   {"challenge_id": challenge, "face_image": self.get("photo")})
            assert frames.status == 200, frames.body
            reply = self.api.call("POST", "/real-name/sessions", {
                "face_image": self.get("photo"), "liveness": {"challenge_id": challenge,
                                                              "frames": frames.body["frames"]},
                "context": {"device_id": "victim-device-rn", "network": "WIFI"}}, token=self.user.token,
                key=new_key())
            if reply.status == 201:
                return str(reply.body["session_id"])
            replies.append((reply.status, reply.code))
        raise AssertionError(f"no real-name session for the victim: {replies}")

    def _new_order(self) -> dict[str, Any]:
        reply = self.api.call("POST", "/proxy-orders", {"type": "WITHDRAW", "amount": {"amount": 1_000,
                                                                                        "currency": "CNY"},
                                                         "proxy_mode": True}, token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def _order(self) -> str:
        order = self._new_order()
        self.objects["order_code"] = order["code"]
        return str(order["order_id"])

    def _order_code(self) -> str:
        self.get("order")
        return self.objects["order_code"]

    def _reversal(self) -> str:
        from tests.proxy.conftest import Proxy

        order = self._new_order()
        agent = Proxy(self.api).agent(balance=10_000)
        assert Proxy(self.api).execute(agent, order["code"]).status == 200
        reply = self.api.call("POST", f"/proxy-orders/{order['order_id']}/reversal-requests",
                              {"reason": "wrong amount"}, token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["request_id"])

    def _verification(self) -> str:
        from tests.identity.conftest import CLAIM, STUDENT, Identity
        from tests.signals.history import persona_history, write_history

        driver = Identity(self.api)
        write_history(driver.ddb, persona_history(STUDENT, above=True), self.user.sub)
        if "device" in self.objects:  # the history replaced the profile's device list: sign in on it again
            self._sign_in(self.objects["device"])
        reply = self.api.call("POST", "/identity-verifications", {"identity_type": "student",
                                                                  "claimed": {**CLAIM, "name": "Li Hui"}},
                              token=self.user.token, key=new_key())
        assert reply.status == 202, reply.body
        vid = str(reply.body["verification_id"])
        driver.wait_status(self.user_person(), vid, "AWAITING_DOCUMENT")  # the workflow is at rest
        return vid

    def _adaptive_verification(self) -> str:
        """A decision of adaptive verification (SPEC §4) the victim triggered (no phone, no method enrolled: DENY,
        recorded like any other)."""
        reply = self.api.call("POST", "/verifications", {"operation": "ACCOUNT_UPDATE", "context": {
            "device_id": "victim-device-1", "network": "WIFI"}}, token=self.user.token, key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["verification_id"])

    def user_person(self) -> Any:
        from tests.identity.conftest import Person

        return Person(self.user.sub, self.user.token)

    def _partner(self) -> str:
        from tests.binding.conftest import forget_data_keys

        forget_data_keys()  # the reset re-created the KMS key: no data key cached from the old one
        reply = self.api.call("POST", "/admin/partners", {"name": "Victim Bank", "callback_url":
                                                          "http://127.0.0.1:9/callbacks"},
                              token=self.api.token("ops-admin", "admin"), key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["partner_id"])

    def bank(self) -> Any:
        """The victim's bank: a registered partner (``tests.binding.conftest.Bank``; it polls, no callback
        server) whose binding requests and bindings these are; not the ``partner`` kind's (that one is
        suspended and given keys by admin routes)."""
        if self._bank is None:
            import base64 as b64

            from tests.binding.conftest import Bank, forget_data_keys

            forget_data_keys()
            admin = self.api.token("ops-admin", "admin")
            created = self.api.call("POST", "/admin/partners", {"name": "Victim Bank", "callback_url":
                                                                "http://127.0.0.1:9/callbacks"}, token=admin,
                                    key=new_key()).body
            pid = created["partner_id"]
            self._bank = Bank(self.api, pid, created["key_id"], b64.b64decode(created["secret"]),
                              self.api.token(f"bank-{pid}", "partner", partner_id=pid), None)  # type: ignore[arg-type]
        return self._bank

    def _binding_request(self) -> str:
        """A real binding request of the victim's bank, left waiting for the bank (AWAITING_BANK): its account
        id and card token are the ``binding_account`` / ``binding_card_token`` kinds."""
        from tests.binding.conftest import card_token, phone

        token = card_token()
        rid = self.bank().start(phone(), token)
        awaiting = self.bank().wait(rid, "AWAITING_BANK", "FAILED")
        assert awaiting["status"] == "AWAITING_BANK", awaiting
        self.objects["binding_account"], self.objects["binding_card_token"] = awaiting["account_id"], token
        return rid

    def _second_binding_request(self) -> str:
        """Another one, for a route that ends a request (a rejection) while another confirms the first."""
        self.get("binding_request")
        kept = {k: self.objects.pop(k) for k in ("binding_request", "binding_account", "binding_card_token")}
        try:
            return self._binding_request()
        finally:
            self.objects.update(kept)

    def _made_with(self, kind: str, detail: str) -> str:
        self.get(kind)
        return self.objects[detail]

    def _binding(self) -> str:
        """A real binding made by the victim's bank for a customer it registered."""
        from tests.binding.conftest import card_token, phone

        customer = phone()
        assert self.bank().bind(customer, card_token())["status"] == "BOUND"
        token = self.api.call("POST", "/local/token", {"phone_number": customer}).body["token"]
        [binding] = self.api.call("GET", "/bindings", token=token).body["items"]
        return str(binding["binding_id"])

    def _review(self) -> str:
        """A real open review: another person's student claim whose name differs from their real name goes to
        the document path; their uploaded card is submitted and waits for a reviewer (IN_REVIEW)."""
        from tests.identity.conftest import CLAIM, Identity
        from tests.identity.documents import jpeg, photo

        driver = Identity(self.api)
        who = driver.person()
        credential = f"PKU{uuid.uuid4().int % 10**7:07d}"
        reply = self.api.call("POST", "/identity-verifications", {
            "identity_type": "student", "claimed": {**CLAIM, "name": "Li Hui", "student_number": credential}},
            token=who.token, key=new_key())
        assert reply.status == 202, reply.body
        vid = str(reply.body["verification_id"])
        driver.wait_status(who, vid, "AWAITING_DOCUMENT")
        ticket = driver.ticket(who, vid, credential_number=credential)
        uploaded = driver.post_form(ticket, jpeg(photo(vid, (1012, 638))))
        assert uploaded.status_code in (200, 201, 204), uploaded.text
        assert driver.submit(who, vid).status == 202
        driver.wait_status(who, vid, "IN_REVIEW")
        return str(driver.review_for(vid)["review_id"])

    def payee(self) -> User:
        """Another user with an account and a balance: the victim's counterpart."""
        if self._payee is None:
            self._payee = self.api.user(f"payee-{uuid.uuid4().hex[:6]}", balance=10_000)
        return self._payee

    def _payee_invitation(self) -> str:
        """An invitation code to the payee's group in a campaign of its own (the victim may join it: the victim's
        own group is in the ``campaign`` kind's campaign, and one user is in one group per campaign)."""
        from tests.campaigns.helpers import create_campaign

        payee = self.payee()
        group = self.api.call("POST", "/groups", {"name": "payees", "campaign_id": create_campaign(self.api)[
            "campaign_id"]}, token=payee.token, key=new_key())
        assert group.status == 201, group.body
        reply = self.api.call("POST", f"/groups/{group.body['group_id']}/invitations", token=payee.token,
                              key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["code"])

    def _payee_order_code(self) -> str:
        """The code of a proxy top-up the payee asks for (the victim may execute it through their account)."""
        reply = self.api.call("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 1_000,
                                                                                     "currency": "CNY"},
                                                        "proxy_mode": True}, token=self.payee().token, key=new_key())
        assert reply.status == 201, reply.body
        return str(reply.body["code"])


def fill(value: Any, victim: Victim) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return victim.get(value[1:-1])
    if isinstance(value, dict):
        return {k: fill(v, victim) for k, v in value.items()}
    return value


def body_for(spec: dict[str, Any], victim: Victim) -> Any:
    body = spec.get("body")
    if body == "campaign":
        from tests.campaigns.helpers import campaign_body

        return campaign_body()
    if body == "verification":
        from tests.identity.conftest import CLAIM

        return {"identity_type": "student", "claimed": CLAIM}
    return fill(body, victim) if body is not None else None


def tampered(token: str) -> str:
    head, claims, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    data["cognito:groups"] = "admin,reviewer,internal"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{sig}"


def snapshot(stack: LocalStack) -> dict[str, list[str]]:
    """Every item of every table of the template (sorted JSON), minus nothing: nothing runs in the background."""
    tables = [stack.template.physical_name(t) for t in stack.template.of_type("AWS::DynamoDB::Table")]
    return {t: sorted(json.dumps(i, sort_keys=True, default=str) for i in scan(stack, t)) for t in tables}


@pytest.fixture
def quiet(clean_stack: LocalStack) -> Iterator[LocalStack]:
    with clean_stack.scheduler.paused():
        clean_stack.drain()
        yield clean_stack


def callers(api: Api, spec: dict[str, Any], victim: Victim) -> dict[str, str | None]:
    """The wrong callers for a route of this class (name -> bearer token or None)."""
    intruder = f"intruder-{uuid.uuid4().hex[:6]}"
    wrong: dict[str, str | None] = {"no token": None, "tampered token": tampered(api.token(intruder))}
    if spec["class"] in ("owner", "role"):
        allowed = spec.get("role") or []
        allowed = [allowed] if isinstance(allowed, str) else allowed
        other_roles = [r for r in ("admin", "reviewer", "internal") if r not in allowed]
        wrong["partner of another bank"] = api.token(f"partner-{intruder}", "partner", partner_id="other-bank")
        wrong["user without the role" if spec["class"] == "role" else "another user"] = (
            api.token(intruder, *other_roles) if spec["class"] == "role" else api.token(intruder))
    return wrong


SWEPT: dict[str, int] = {}


@pytest.mark.parametrize("route", ROUTES)
def test_wrong_callers_are_refused_and_change_nothing(quiet: LocalStack, route: str) -> None:
    spec = CLASSES[route]
    api = Api(quiet)
    victim = Victim(api)
    method, template_path = route.split(" ", 1)
    path = template_path
    for name, kind in (spec.get("path") or {}).items():
        path = path.replace("{" + name + "}", victim.get(kind))
    body = body_for(spec, victim)
    quiet.drain()
    before = snapshot(quiet)
    outcomes = {}
    for who, token in callers(api, spec, victim).items():
        if who in ("another user",) and token:
            api.call("POST", "/accounts", {}, token=token, key=new_key())  # a real user, with an account
            before = snapshot(quiet)
        reply = api.call(method, path, body, token=token, key=new_key())
        outcomes[who] = (reply.status, reply.code)
    quiet.drain()
    after = snapshot(quiet)
    SWEPT[route] = len(outcomes)
    assert all(status in REFUSED for status, _ in outcomes.values()), (route, outcomes)
    changed = {t: (len(before[t]), len(after[t])) for t in before if before[t] != after[t]}
    assert not changed, (route, "a refused call changed", changed, outcomes)
