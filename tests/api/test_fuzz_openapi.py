"""Schema fuzzing of every documented route (schemathesis), each with the caller it is meant for.

The schema is the merged OpenAPI document of the template's functions (what ``/openapi.json`` serves), so a new
route is fuzzed as soon as it exists. Each route is called by the caller ``route_classes.yaml`` gives it (the
access sweep's classification): a funded user, an admin, a reviewer, the trusted internal source, or a registered
bank whose every request is signed (RFC 9421 with ``Content-Digest``, as ``tests/binding/conftest.py``'s Bank
does; it is the ``Victim``'s bank). Every other example of a route that names an object names a real one (the access
sweep's ``Victim`` makes them): its path parameters (``route_classes.yaml`` says which kind,
``PATH_KINDS_FOR_THE_OWNER`` where the fuzz needs another) and its body fields (the sweep's ``{kind}`` placeholders
and ``BODY_KINDS_FOR_THE_OWNER``, where a string was generated). Every request (valid and invalid ones) must get:

1. no 5xx;
2. a documented status code, a documented content type, a body that matches the documented schema of that
   status, and the documented headers (schemathesis' conformance checks);
3. on a 4xx, no change: no state-changing AWS call by the route's function succeeded during the request
   (``local_stack.faults.WriteRecorder``, a botocore hook: no table is scanned), except ``ALLOWED_ON_REFUSAL``.

The default run makes ``DEFAULT_EXAMPLES`` examples per route (derandomized: the same examples every run);
``make stress`` runs ``STRESS_EXAMPLES``. A failing example is printed with its curl command.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local_stack import LocalStack
from local_stack.faults import Write, WriteRecorder, intercept
from local_stack.functions import FunctionRegistry
from local_stack.openapi import build_openapi
from local_stack.template import Template
from shared.binding import signatures
from tests.conftest import Api

DOC = build_openapi(FunctionRegistry(Template()))
schema = schemathesis.openapi.from_dict(DOC)
CLASSES = yaml.safe_load((Path(__file__).parents[1] / "security" / "route_classes.yaml").read_text())["routes"]
FUNCTION_OF = {f"{r.method} {r.path}": r.function for r in Template().routes()}

DEFAULT_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # FUZZ_EXAMPLES=50: a longer run of the default test
STRESS_EXAMPLES = 100
ANSWERS: dict[str, Counter[int]] = {}  # route -> statuses seen (printed when the module ends; `make stress` shows it)
CODES: dict[str, Counter[str]] = {}  # route -> "status error-code" of its 4xx (with FUZZ_TALLY_DIR)
REFUSALS_WITH_WRITES: Counter[str] = Counter()  # allow-listed table -> 4xx answers whose writes it explained
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


# Body fields that name an object, beyond the access sweep's ``{kind}`` placeholders (route_classes.yaml): there the
# body names the victim's own object for a wrong caller; here the fuzzing user is the caller, so a success needs
# another user's object (a payee's account, an invitation to someone else's group, an order code someone else
# asked for) or the detail the object was made with (the account and card a binding request was told about).
BODY_KINDS_FOR_THE_OWNER: dict[str, dict[str, Any]] = {
    "POST /transfers": {"to_account_id": "payee_account"},
    "POST /admin/agents": {"account_id": "payee_account"},  # the user's own would make it an agent for the rest
    "POST /groups": {"campaign_id": "spare_campaign"},  # the user's group is in the `campaign` kind's campaign
    "POST /groups/join": {"code": "payee_invitation"},
    "POST /proxy-orders/execute": {"code": "payee_order_code"},
    "POST /internal/campaigns/{campaign_id}/interactions": {"user_id": "user", "interaction_type": "interaction_type"},
    "POST /partners/bindings/{binding_request_id}/confirmation": {"account_id": "binding_account",
                                                                  "card_token": "binding_card_token"},
}
# Path parameters naming another object than the sweep's: a rejection ends the request a confirmation binds, a
# draw settles the campaign that claims, passes and interactions need open.
PATH_KINDS_FOR_THE_OWNER: dict[str, dict[str, str]] = {
    "POST /partners/bindings/{binding_request_id}/rejection": {"binding_request_id": "second_binding_request"},
    "POST /admin/campaigns/{campaign_id}/draw": {"campaign_id": "campaign_to_draw"},
}
# Not substituted: a face image and its liveness challenge (generated frames never answer a challenge, and the
# victim's photo in every other example would run the face models on each: the face routes' own tests do that).
NOT_IN_BODIES = {"photo", "challenge"}


def _placeholders(value: Any) -> Any:
    """The ``{kind}`` placeholders of a sweep body as {field: kind} (nested dicts kept), else None."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return None if value[1:-1] in NOT_IN_BODIES else value[1:-1]
    if isinstance(value, dict):
        found = {k: v for k, v in ((k, _placeholders(v)) for k, v in value.items()) if v}
        return found or None
    return None


def path_kinds(route: str) -> dict[str, str]:
    """{path parameter: kind} of ``route``."""
    return {**(CLASSES[route].get("path") or {}), **PATH_KINDS_FOR_THE_OWNER.get(route, {})}


def body_kinds(route: str) -> dict[str, Any]:
    """{field: kind} (nested for nested objects) of the body fields of ``route`` that name an object."""
    return {**(_placeholders(CLASSES[route].get("body")) or {}), **BODY_KINDS_FOR_THE_OWNER.get(route, {})}


def with_real_ids(body: Any, kinds: dict[str, Any], objects: Any) -> Any:
    """``body`` with each field ``kinds`` names set to the real object, where the generated value is a string
    (a field of another type or a missing one stays as generated: that example tests its refusal)."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    for field, kind in kinds.items():
        if isinstance(kind, dict):
            out[field] = with_real_ids(out.get(field), kind, objects) if field in out else out.get(field)
        elif isinstance(out.get(field), str):
            out[field] = objects.get(kind)
    return out


def caller_of(route: str) -> str:
    """Who a route is meant for: a bank for ``/partners/...``, the (first) role of a ``role`` route, else a user."""
    if route.split(" ", 1)[1].startswith("/partners/"):
        return "partner"
    spec = CLASSES[route]
    if spec["class"] == "role":
        role = spec["role"]
        return str(role if isinstance(role, str) else role[0])
    return "user"


# --- no change on a refusal -------------------------------------------------------------------------------------
def _key_of(write: Write) -> str:
    key = write.params.get("Key") or {k: v for k, v in (write.params.get("Item") or {}).items() if k == "id"}
    return json.dumps(key, sort_keys=True)


@dataclass(frozen=True)
class Allowed:
    """Writes a refused request may make, with the reason; ``net`` checks what they leave behind."""

    table: str  # logical id in template.yaml
    reason: str
    applies: Callable[[Write], bool]
    net: Callable[[list[Write]], str | None] = lambda writes: None


def _idempotency_net(writes: list[Write]) -> str | None:
    """Every idempotency record put (in progress) by a refused request is deleted by it: nothing is left."""
    put = {_key_of(w) for w in writes if w.call.operation == "PutItem"}
    deleted = {_key_of(w) for w in writes if w.call.operation == "DeleteItem"}
    return None if put <= deleted else f"idempotency records left behind: {sorted(put - deleted)}"


def _item_pk(write: Write) -> str:
    item = write.params.get("Item") or write.params.get("Key") or {}
    return str((item.get("pk") or {}).get("S", ""))


ALLOWED_ON_REFUSAL = (
    Allowed("IdempotencyTable",
            "Powertools puts the in-progress record before the route runs and deletes it when the route raises "
            "(shared/api/idempotency.py): a refusal is not stored, a retry is a new attempt",
            lambda w: w.call.operation in ("PutItem", "DeleteItem"), _idempotency_net),
    Allowed("PartnersTable",
            "a partner request whose signature verified uses its nonce (put-once) before the route's own checks: "
            "replay protection must count every verified signature, refused or not (SPEC §6, RFC 9421 nonce)",
            lambda w: w.call.operation == "PutItem" and _item_pk(w).startswith("NONCE#")),
)


def refusal_violations(stack: LocalStack, writes: list[Write], tally: Counter[str] | None = None) -> list[str]:
    """The writes a refused request made that ``ALLOWED_ON_REFUSAL`` does not explain (empty: nothing changed);
    ``tally`` counts, per allow-listed table, the refusals whose writes it explained."""
    physical = {a.table: stack.template.physical_name(a.table) for a in ALLOWED_ON_REFUSAL}
    out: list[str] = []
    matched: dict[str, list[Write]] = {a.table: [] for a in ALLOWED_ON_REFUSAL}
    for write in writes:
        rule = next((a for a in ALLOWED_ON_REFUSAL
                     if write.tables == (physical[a.table],) and a.applies(write)), None)
        if rule is None:
            out.append(str(write))
        else:
            matched[rule.table].append(write)
    for rule in ALLOWED_ON_REFUSAL:
        left = rule.net(matched[rule.table]) if matched[rule.table] else None
        if left:
            out.append(left)
        elif matched[rule.table] and tally is not None:
            tally[rule.table] += 1
    return out


def _leaves(kinds: dict[str, Any]) -> list[str]:
    return [k for v in kinds.values() for k in (_leaves(v) if isinstance(v, dict) else [v])]


# --- callers ------------------------------------------------------------------------------------------------------
@dataclass
class Caller:
    token: str
    sign: Callable[[requests.PreparedRequest], None] | None = None


class Callers(dict[str, Caller]):
    """The callers by name, and the user's real objects (the access sweep's ``Victim``)."""

    objects: Any


@pytest.fixture(scope="module")
def callers(stack: LocalStack) -> Iterator[Callers]:
    """A funded user who owns one object of each kind a path names (made over the API first), admin,
    reviewer, the internal source, and a registered bank; the stack is reset once for the module (not per
    example)."""
    from tests.binding.conftest import forget_data_keys, stop_running
    from tests.security.test_access_sweep import Victim

    stack.reset()
    forget_data_keys()  # the reset re-created the KMS key: no data key cached from the old one
    # the binding requests the fuzz names wait for their bank for the whole module, not the local 60 s window
    # (LOCAL_PARAMETERS): a loaded run reaches a route more than a minute after the fixture made its request
    patch = pytest.MonkeyPatch()
    for spec in stack.registry.specs.values():  # every binding function reads it (the saga's input, the await)
        if "BINDING_CONFIRMATION_TIMEOUT_SECONDS" in spec.environment:
            patch.setitem(spec.environment, "BINDING_CONFIRMATION_TIMEOUT_SECONDS", "3600")
    api = Api(stack)
    objects = Victim(api)
    kinds = {k for route in CLASSES for k in [*path_kinds(route).values(), *_leaves(body_kinds(route))]}
    for kind in sorted(kinds):
        objects.get(kind)  # all before any example: a fuzzed draw settles the campaign a voucher would come from
    user, bank = objects.user, objects.bank()  # the bank whose binding request the `binding_request` kind is

    def sign(request: requests.PreparedRequest) -> None:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers: dict[str, str] = {}
        signatures.sign(str(request.method), str(request.url), headers, body or None, bank.key_id, bank.secret)
        request.headers.update(headers)

    out = Callers({
        "user": Caller(user.token),
        "admin": Caller(api.token("fuzz-admin", "admin")),
        "reviewer": Caller(api.token("fuzz-reviewer", "reviewer")),
        "internal": Caller(api.token("fuzz-internal", "internal")),
        "partner": Caller(bank.token, sign),
    })
    out.objects = objects
    yield out
    stack.drain()
    stop_running(stack)  # the binding requests still waiting for their bank
    stop_waiting(stack, "IdentityVerificationStateMachine")  # the verification and the review still waiting
    patch.undo()
    for route, statuses in sorted(ANSWERS.items()):
        print(f"fuzz: {route} as {caller_of(route)}: {dict(sorted(statuses.items()))}")
    print(f"fuzz: {sum(map(sum, map(Counter.values, ANSWERS.values())))} requests; 4xx with allow-listed writes: "
          f"{dict(REFUSALS_WITH_WRITES)}")
    if out_dir := os.environ.get("FUZZ_TALLY_DIR"):  # xdist hides the print: each worker writes its tally
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(out_dir, f"fuzz-{worker}.json").write_text(json.dumps(
            {"answers": {r: dict(c) for r, c in ANSWERS.items()}, "codes": {r: dict(c) for r, c in CODES.items()},
             "refusals_with_writes": dict(REFUSALS_WITH_WRITES)},
            indent=1, sort_keys=True))


def stop_waiting(stack: LocalStack, state_machine: str) -> None:
    sfn = stack.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=stack.state_machine_arn(state_machine),
                                         statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"], cause="fuzz finished")


# --- the fuzz -----------------------------------------------------------------------------------------------------
def fuzz(case: schemathesis.Case, stack: LocalStack, callers: Callers) -> None:
    route = f"{case.operation.method.upper()} {case.operation.path}"
    caller = callers[caller_of(route)]
    kinds, in_body = path_kinds(route), body_kinds(route)
    if (kinds or in_body) and sum(ANSWERS.get(route, Counter()).values()) % 2 == 0:
        # every other example names real objects, in its path and its body (generated ids only reach "not found")
        case.path_parameters = {**(case.path_parameters or {}),
                                **{name: callers.objects.get(kind) for name, kind in kinds.items()}}
        if in_body:
            case.body = with_real_ids(case.body, in_body, callers.objects)
    headers = {"Authorization": f"Bearer {caller.token}"}
    if case.headers and "Idempotency-Key" in case.headers:
        headers["Idempotency-Key"] = uuid.uuid4().hex  # each example a new request (a generated key repeats)
    kwargs = case.as_transport_kwargs(base_url=stack.gateway.url, headers=headers)
    request = requests.Request(**{k: v for k, v in kwargs.items()
                                  if k in ("method", "url", "headers", "params", "json", "data", "cookies")}).prepare()
    if caller.sign:
        caller.sign(request)
    with intercept(WriteRecorder(functions={FUNCTION_OF[route]})) as recorder, requests.Session() as session:
        response = session.send(request, timeout=60)
    ANSWERS.setdefault(route, Counter())[response.status_code] += 1
    if os.environ.get("FUZZ_TALLY_DIR") and response.status_code >= 400:
        try:
            error = response.json()["error"]
            code = error["code"] + (f" ({error['details']['status']})" if "status" in (error.get("details") or {})
                                    else "")
        except (ValueError, KeyError, TypeError):
            code = "-"
        CODES.setdefault(route, Counter())[f"{response.status_code} {code}"] += 1
    case.validate_response(response, checks=CHECKS, headers=dict(request.headers),
                           transport_kwargs={"base_url": stack.gateway.url})
    if 400 <= response.status_code < 500:
        violations = refusal_violations(stack, recorder.writes, REFUSALS_WITH_WRITES)
        assert not violations, (f"{route} answered {response.status_code} {response.text[:300]} "
                                f"and changed state: {violations}")


FUZZ_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


@schema.parametrize()
@settings(max_examples=DEFAULT_EXAMPLES, **FUZZ_SETTINGS)  # type: ignore[arg-type]
def test_every_route_as_its_caller(case: schemathesis.Case, stack: LocalStack, callers: Callers) -> None:
    fuzz(case, stack, callers)


@pytest.mark.stress
@schema.parametrize()
@settings(max_examples=STRESS_EXAMPLES, **FUZZ_SETTINGS)  # type: ignore[arg-type]
def test_every_route_as_its_caller_many_examples(case: schemathesis.Case, stack: LocalStack,
                                                 callers: Callers) -> None:
    fuzz(case, stack, callers)


def test_every_route_has_a_caller_and_a_function() -> None:
    routes = [f"{m.upper()} {p}" for p, ops in DOC["paths"].items() for m in ops]
    assert {caller_of(r) for r in routes} == {"user", "admin", "reviewer", "internal", "partner"}
    assert not [r for r in routes if r not in FUNCTION_OF], "routes without a function in template.yaml"


# --- the detector can fail ----------------------------------------------------------------------------------------
def _write(stack: LocalStack, operation: str, table: str, **params: Any) -> Write:
    from local_stack.faults import Call

    name = stack.template.physical_name(table)
    return Write(Call("X", "dynamodb", operation), (name,), {"TableName": name, **params})


def test_a_refusal_that_writes_is_caught(stack: LocalStack, callers: Callers) -> None:
    """A write recorded during a request is a violation unless allow-listed, and an allow-listed idempotency
    record that is not deleted again is one too; a real route's write is seen by the recorder."""
    key = {"id": {"S": "k1"}}
    assert refusal_violations(stack, [_write(stack, "TransactWriteItems", "LedgerTable")])
    assert refusal_violations(stack, [_write(stack, "PutItem", "IdempotencyTable", Item=key)])
    assert not refusal_violations(stack, [_write(stack, "PutItem", "IdempotencyTable", Item=key),
                                          _write(stack, "DeleteItem", "IdempotencyTable", Key=key)])
    assert refusal_violations(stack, [_write(stack, "PutItem", "PartnersTable", Item={"pk": {"S": "PARTNER#1"}})])
    assert not refusal_violations(stack, [_write(stack, "PutItem", "PartnersTable",
                                                 Item={"pk": {"S": "NONCE#p#n"}})])
    api = Api(stack)
    with intercept(WriteRecorder(functions={FUNCTION_OF["POST /accounts"]})) as recorder:
        reply = api.call("POST", "/accounts", {}, token=api.token(f"fuzz-{uuid.uuid4().hex[:6]}"),
                         key=uuid.uuid4().hex)
    assert reply.status == 201, reply.body
    found = refusal_violations(stack, recorder.writes)
    assert any("AccountsTable" in v or stack.template.physical_name("AccountsTable") in v for v in found), found
