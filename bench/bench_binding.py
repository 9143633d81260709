"""Bank binding (SPEC §6): cost per binding on each path, and end-to-end time over the sum of its handlers.

On one ``LocalStack(api_port=0)`` a partner bank (signed requests, a callback server that confirms as soon as the
account id arrives) runs bindings one at a time, each path ``BENCH_N`` times (default 10):

* ``happy (new customer)``: registered, confirmed, bound; ``happy (existing)``: the phone's account exists;
* compensation paths: ``timeout`` (1 s window), ``bank rejection``, ``mismatching confirmation``,
  ``already bound`` (caught at the first step), ``lost race`` (the card was bound between request and
  confirmation: the confirmation's claim fails, 409).

Per binding: Step Functions state transitions (history events that enter a state, plus retries, as billed), the
DynamoDB API requests every function made for it (counted from the local IAM guard's hook, which sees each
call: a ``TransactWriteItems`` is one request) and the items they wrote. End-to-end: from the partner's POST to
BOUND seen by its GET, divided by the sum of the handler times of that binding (its API calls and saga steps, not
the polling GETs): the ratio is what the workflow engine, the gateway and waiting add around the work itself.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.bench_api_latency import pct, quiet_stdout
from local_stack import LocalStack
from local_stack.iam import AccessGuard
from shared.binding import signatures
from shared.identity_numbers import id_check_character

STEPS = ("FindAccountFunction", "RegisterCustomerFunction", "AwaitBankFunction", "NotifyBankFunction",
         "ActivateBindingFunction", "CompensateBindingFunction")
API = ("CreateBindingRequestFunction", "ConfirmBindingFunction", "RejectBindingFunction")


class Meter:
    """Handler time per function and DynamoDB requests/items, by function, while enabled."""

    def __init__(self, stack: LocalStack) -> None:
        self.lock = threading.Lock()
        self.handler_ms: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        invoke = stack.registry.invoke
        authorize = stack.iam.authorize
        meter = self

        def timed(logical_id: str, event: Any) -> Any:
            start = time.perf_counter()
            try:
                return invoke(logical_id, event)
            finally:
                with meter.lock:
                    meter.handler_ms[logical_id] += (time.perf_counter() - start) * 1000

        def counted(guard: AccessGuard, function: str, service: str, operation: str, params: dict) -> Any:
            denied = authorize(function, service, operation, params)
            if service == "dynamodb" and function != "GetBindingRequestFunction":  # the bench's polling
                with meter.lock:
                    meter.requests[function] += 1
                    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                        meter.items[function] += 1
                    elif operation == "TransactWriteItems":
                        meter.items[function] += len(params.get("TransactItems") or [])
            return denied

        stack.registry.invoke = timed  # type: ignore[method-assign]
        stack.iam.authorize = lambda *a: counted(stack.iam, *a)  # type: ignore[method-assign]

    def reset(self) -> None:
        with self.lock:
            self.handler_ms.clear()
            self.requests.clear()
            self.items.clear()

    def snapshot(self) -> tuple[float, int, int]:
        with self.lock:
            work = sum(v for k, v in self.handler_ms.items() if k in STEPS or k in API)
            return work, sum(self.requests.values()), sum(self.items.values())


def id_number(seq: int) -> str:
    first17 = f"110105199003070{seq % 100:02d}"
    return first17 + id_check_character(first17)


class CallbackSink:
    """The bank's callback endpoint: records what arrives, by binding request."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrived: dict[str, dict[str, Any]] = {}
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with sink.cond:
                    sink.arrived[body["binding_request_id"]] = body
                    sink.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"

    def wait(self, rid: str, timeout: float = 30) -> dict[str, Any]:
        with self.cond:
            assert self.cond.wait_for(lambda: rid in self.arrived, timeout), "no callback"
            return self.arrived[rid]


def phone_and_token() -> tuple[str, str]:
    letters = str.maketrans("0123456789", "ghijklmnop")  # no digit run that could look like a PAN
    return "+86137" + str(uuid.uuid4().int)[:8], "tok_" + uuid.uuid4().hex[:20].translate(letters)


class BindingBench:
    """One partner bank on one stack; each path method runs one binding and returns (request id, e2e ms)."""

    def __init__(self, stack: LocalStack) -> None:
        from tests.conftest import Api

        self.stack = stack
        self.api = Api(stack)
        self.meter = Meter(stack)
        self.sink = CallbackSink()
        admin = self.api.token("bench-admin", "admin")
        created = self.api.call("POST", "/admin/partners", {"name": "Bench Bank", "callback_url": self.sink.url},
                                token=admin, key=str(uuid.uuid4())).body
        self.kid, self.secret = created["key_id"], base64.b64decode(created["secret"])
        self.bank_token = self.api.token("bench-bank", "partner", partner_id=created["partner_id"])
        self.sfn = stack.client("stepfunctions")
        self.machine = stack.state_machine_arn("BindingStateMachine").replace(":stateMachine:", ":execution:")

    def signed(self, method: str, path: str, body: Any = None) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        hdrs = signatures.sign(method, self.api.base + path, {"Content-Type": "application/json"}, raw or None,
                               self.kid, self.secret)
        return self.api.call(method, path, token=self.bank_token, key=str(uuid.uuid4()) if body is not None else None,
                             headers=hdrs, raw=raw or None)

    def request(self, phone: str, token: str, seq: int) -> str:
        reply = self.signed("POST", "/partners/bindings", {
            "customer": {"phone": phone, "name": "Li Hua", "id_number": id_number(seq)},
            "card": {"token": token, "last4": "1234", "type": "DEBIT"},
            "bank_customer_ref": f"c-{uuid.uuid4().hex[:8]}"})
        assert reply.status == 202, reply.body
        return str(reply.body["binding_request_id"])

    def confirm(self, rid: str, account_id: str, token: str) -> int:
        return int(self.signed("POST", f"/partners/bindings/{rid}/confirmation",
                               {"account_id": account_id, "card_token": token}).status)

    def until(self, rid: str, *statuses: str) -> dict[str, Any]:
        while True:
            body = self.signed("GET", f"/partners/bindings/{rid}").body
            if body["status"] in statuses:
                return body  # type: ignore[no-any-return]
            time.sleep(0.005)

    def transitions(self, rid: str) -> int:
        self.stack.wait_execution(f"{self.machine}:{rid}", 60)
        events = self.sfn.get_execution_history(executionArn=f"{self.machine}:{rid}", maxResults=1000)["events"]
        return sum(1 for e in events if e["type"].endswith("StateEntered"))

    def bind_another(self, token: str, seq: int) -> None:
        """Someone else's binding of the same card, to BOUND."""
        rid = self.request(phone_and_token()[0], token, seq)
        self.confirm(rid, self.sink.wait(rid)["account_id"], token)
        self.until(rid, "BOUND")

    # --- paths --------------------------------------------------------------------------------------------
    def happy(self, seq: int, existing: bool) -> tuple[str, float]:
        phone, token = phone_and_token()
        if existing:
            from local_stack import tokens as local_tokens

            user = local_tokens.issue(f"u-{uuid.uuid4().hex[:8]}", phone_number=phone)
            assert self.api.call("POST", "/accounts", {}, token=user, key=str(uuid.uuid4())).status == 201
        self.meter.reset()
        start = time.perf_counter()
        rid = self.request(phone, token, seq)
        assert self.confirm(rid, self.sink.wait(rid)["account_id"], token) == 202
        assert self.until(rid, "BOUND", "FAILED")["status"] == "BOUND"
        return rid, (time.perf_counter() - start) * 1000

    def failing(self, seq: int, kind: str) -> tuple[str, float]:
        phone, token = phone_and_token()
        if kind == "already bound":
            self.bind_another(token, seq)
        self.meter.reset()
        start = time.perf_counter()
        rid = self.request(phone, token, seq)
        if kind == "lost race":
            cb = self.sink.wait(rid)
            self.bind_another(token, seq + 1)
            self.meter.reset()
            start = time.perf_counter()
            assert self.confirm(rid, cb["account_id"], token) == 409
        elif kind == "bank rejection":
            self.sink.wait(rid)
            assert self.signed("POST", f"/partners/bindings/{rid}/rejection", {"reason": "no"}).status == 202
        elif kind == "mismatching confirmation":
            self.confirm(rid, self.sink.wait(rid)["account_id"], phone_and_token()[1])
        elif kind == "timeout":
            self.sink.wait(rid)
        assert self.until(rid, "FAILED")["status"] == "FAILED"
        return rid, (time.perf_counter() - start) * 1000

    def measure(self, path: Callable[[int], tuple[str, float]], count: int) -> dict[str, list[float]]:
        stats: dict[str, list[float]] = {"t": [], "ddb": [], "items": [], "e2e": [], "work": []}
        for i in range(count):
            rid, e2e = path(i)
            stats["t"].append(self.transitions(rid))
            work, reqs, items = self.meter.snapshot()
            stats["ddb"].append(reqs)
            stats["items"].append(items)
            stats["e2e"].append(e2e)
            stats["work"].append(work)
        return stats


def run(n: int) -> None:
    with quiet_stdout(), LocalStack(api_port=0, time_scale=0.001) as stack:
        bench = BindingBench(stack)
        few = max(2, n // 3)
        paths: list[tuple[str, Callable[[int], tuple[str, float]], int]] = [
            ("happy (new customer)", partial(bench.happy, existing=False), n),
            ("happy (existing)", partial(bench.happy, existing=True), n),
            ("timeout (1 s window)", partial(bench.failing, kind="timeout"), few),
            ("bank rejection", partial(bench.failing, kind="bank rejection"), few),
            ("mismatching confirmation", partial(bench.failing, kind="mismatching confirmation"), few),
            ("already bound", partial(bench.failing, kind="already bound"), few),
            ("lost race (409 at confirm)", partial(bench.failing, kind="lost race"), few)]
        spec = stack.registry.specs["CreateBindingRequestFunction"]
        rows = []
        for name, path, count in paths:
            spec.environment["BINDING_CONFIRMATION_TIMEOUT_SECONDS"] = "1" if name.startswith("timeout") else "60"
            rows.append((name, count, bench.measure(path, count)))
        bench.sink.server.shutdown()
    report(rows)


def report(rows: list[tuple[str, int, dict[str, list[float]]]]) -> None:
    print(f"{'path':28} {'n':>3} {'transitions':>11} {'$/1000':>7} {'ddb req':>8} {'items':>6} "
          f"{'e2e p50 ms':>10} {'handlers ms':>11} {'ratio':>6}")
    for name, count, s in rows:
        t = statistics.median(s["t"])
        e2e, work = statistics.median(s["e2e"]), statistics.median(s["work"])
        print(f"{name:28} {count:>3} {t:>11.0f} {t * 0.025:>7.3f} {statistics.median(s['ddb']):>8.0f} "
              f"{statistics.median(s['items']):>6.0f} {e2e:>10.1f} {work:>11.1f} {e2e / work:>6.2f}"
              + (f"  (p95 e2e {pct(s['e2e'], 95):.0f} ms)" if count >= 5 else ""))
    print("transitions: states entered per execution (Standard pricing $0.025 per 1000); ddb req: DynamoDB API "
          "requests of all functions for the binding (reads, writes, idempotency), items: items written; "
          "ratio: end-to-end / sum of the binding's handler times (API calls + saga steps)")


def main() -> None:
    run(int(os.environ.get("BENCH_N", "10")))


if __name__ == "__main__":
    main()
