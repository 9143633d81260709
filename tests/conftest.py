"""Shared fixtures: one local stack per test process, built from template.yaml, emptied per test."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local_stack import LocalStack, iam
from tests.logscan import SCANNER


# --- personal data and secrets never logged (tests/logscan.py) --------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    """Every formatted log line of the run (each xdist worker scans its own) goes through the scanner."""
    SCANNER.install()


# --- the longest files first ---------------------------------------------------------------------------------
# `make test` hands whole files to its two workers (`--dist loadfile`: module-scoped stacks and the journey's
# ordered steps need one worker per file), in collection order. Alphabetical order left the longest files
# (the access sweep, the fuzzing) to the end, one worker finishing them while the other idled: scheduling the
# longest first is the classic longest-processing-time rule. Order within a file is kept. The list is a hint,
# measured with `pytest --durations`; a file missing from it only runs later.
LONGEST_FIRST = (
    "tests/security/test_access_sweep.py",
    "tests/api/test_fuzz_openapi.py",
    "tests/campaigns/test_concurrency.py",
    "tests/concurrency/test_ledger_concurrency.py",
    "tests/identity/test_training.py",
    "tests/api/test_bad_input.py",
    "tests/integration/test_sample_events.py",
    "tests/infra/test_least_privilege.py",
    "tests/reliability/test_stateful_models.py",
    "tests/binding/test_workflow.py",
    "tests/identity/test_bad_input.py",
    "tests/campaigns/test_draw.py",
    "tests/identity/test_workflow.py",
    "tests/realname/test_sessions_api.py",
    "tests/identity/test_workflow_checks.py",
    "tests/reliability/test_fault_injection.py",
    "tests/proxy/test_proxy_concurrency.py",
    "tests/realname/test_signals_api.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: file order kept


@pytest.fixture(autouse=True)
def _no_personal_data_in_logs() -> Iterator[None]:
    """Fails the test during which a log line carried personal data or a secret (lines from background threads
    count for the test that was running)."""
    SCANNER.take()
    yield
    findings = SCANNER.take()
    assert not findings, "personal data or secrets in the logs:\n" + "\n".join(str(f) for f in findings[:10])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Lines logged after the last test (session teardown) fail the run too."""
    late = SCANNER.take()
    if late:
        print("\npersonal data or secrets in the logs:\n" + "\n".join(str(f) for f in late[:10]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def stack() -> Any:
    """The emulator, every table/state machine of template.yaml, the handlers and the API gateway.

    Functions run under their template policies (``local_stack/iam.py``). With ``LOCAL_IAM_USAGE_DIR`` set
    (``make access-map``) what each function called is written there when the session ends.

    Schedules fire by themselves on a clock 10x as fast as wall time (``rate(1 minute)``: every 6 s);
    a test that counts what a scheduled function does when called directly holds them with
    ``stack.scheduler.paused()``."""
    s = LocalStack(api_port=0, time_scale=0.001, schedule_scale=0.1).start()
    yield s
    usage_dir = os.environ.get("LOCAL_IAM_USAGE_DIR")
    if usage_dir:
        Path(usage_dir, f"usage-{os.getpid()}.json").write_text(iam.dump_usage(s.iam, s.template))
    denials = s.iam.take_denials()
    s.stop()
    assert not denials, f"calls refused by the template's policies: {denials}"


@pytest.fixture
def clean_stack(stack: LocalStack) -> Iterator[LocalStack]:
    """The session stack, emptied and re-provisioned from the template.

    A call that a function's policies refuse fails the test here too, even where the code swallows the error
    (best-effort event publishing does): on AWS that call would fail the same way.
    """
    stack.reset()
    yield stack
    denials = stack.iam.take_denials()
    assert not denials, f"calls refused by the template's policies: {denials}"


@pytest.fixture
def schedules_held(clean_stack: LocalStack) -> Iterator[None]:
    """No schedule fires during the test, and none is still running when it starts: for a test that counts
    what a scheduled function (e.g. the expiry sweep) does when the test calls it directly."""
    with clean_stack.scheduler.paused():
        clean_stack.async_invoker.drain()
        yield


def new_key() -> str:
    """A fresh Idempotency-Key (every route that moves money, consumes a right or creates an object needs one)."""
    return uuid.uuid4().hex


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """A tiny HTTP client for the local API gateway."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.base = stack.gateway.url

    def token(self, sub: str, *groups: str, partner_id: str | None = None) -> str:
        return self.stack.token(sub, list(groups), partner_id)

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             key: str | None = None, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if key:
            hdrs["Idempotency-Key"] = key
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                payload = resp.read()
                status, rh = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            payload, status, rh = exc.read(), exc.code, dict(exc.headers)
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return Reply(status, parsed, rh, payload)

    # --- common set-ups -------------------------------------------------------
    def user(self, sub: str | None = None, balance: int = 0) -> User:
        sub = sub or f"user-{uuid.uuid4().hex[:8]}"
        token = self.token(sub)
        reply = self.call("POST", "/accounts", {}, token=token, key=new_key())
        assert reply.status == 201, reply.body
        account_id = reply.body["account_id"]
        if balance:
            self.deposit(account_id, balance)
        return User(sub, token, account_id)

    def deposit(self, account_id: str, amount: int, currency: str = "CNY") -> Reply:
        reply = self.call("POST", f"/admin/accounts/{account_id}/deposits",
                          {"amount": {"amount": amount, "currency": currency}},
                          token=self.token("ops-admin", "admin"), key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        return reply

    def balance(self, user: User) -> int:
        reply = self.call("GET", "/accounts/me", token=user.token)
        assert reply.status == 200, reply.body
        return int(reply.body["balance"]["amount"])


@dataclass
class User:
    sub: str
    token: str
    account_id: str


@pytest.fixture
def api(clean_stack: LocalStack) -> Api:
    return Api(clean_stack)
