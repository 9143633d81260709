"""Local API latency of ``GET /accounts/me`` and ``POST /transfers`` vs the bare emulator calls they make.

One ``LocalStack(api_port=0)`` in this process; two users registered and funded
through the API. For each operation, interleaved sample by sample, N times:

* ``http``: the request over HTTP through the local API gateway (keep-alive
  connection; a fresh ``Idempotency-Key`` per transfer);
* ``handler``: the same handler called in-process with ``stack.invoke(...)`` on
  an API event the gateway's own code built (built outside the timed region);
* ``bare``: only the DynamoDB requests that operation makes, replayed with the
  same boto3 client. The request sequence is captured from a real call of the
  handler (botocore ``provide-client-params`` hook on the client ``shared.aws``
  gives the handlers), so it is exactly what the code sends: for a transfer the
  Powertools idempotency put, the owner and account reads, the
  ``TransactWriteItems`` and the idempotency update. Replays of a transfer get
  a fresh idempotency record id and transaction id each time, so every replay
  writes, as the handler does.

Steady state: after every sample (outside the timed region) the items that
sample wrote are deleted again (the idempotency record, the transaction and
its two entries; balances keep moving), so every sample sees the same tables
whatever N is. moto's cost of some operations grows with the data (its
``TransactWriteItems`` deep-copied whole tables until the harness replaced that
with an item-level rollback), and real DynamoDB's does not.

Requests are counted twice: by that botocore hook (operation names) and at the
emulator (every request it serves), and printed. Target: handler p50 <= 1.3 x
bare p50. ``BENCH_N`` (default 300) sets N.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from local_stack import LocalStack

TARGET = 1.3
WARMUP = 30


@dataclass
class Case:
    name: str
    samples: dict[str, list[float]] = field(default_factory=lambda: {"http": [], "handler": [], "bare": []})


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Recorder:
    """Counts and captures what the handlers' DynamoDB client sends (botocore hook)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.deep = False  # copy the parameters (to replay them); otherwise keep a reference (cheap)
        client.meta.events.register("provide-client-params.dynamodb", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params) if self.deep else params))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        calls, self.calls = self.calls, []
        return calls

    @contextmanager
    def capture(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        self.take()
        self.deep = True
        out: list[tuple[str, dict[str, Any]]] = []
        try:
            yield out
        finally:
            self.deep = False
            out.extend(self.take())


class EmulatorCounter:
    """WSGI wrapper counting every request the emulator serves."""

    def __init__(self, stack: LocalStack) -> None:
        server = stack.emulator._server  # a bench may look inside the harness
        assert server is not None
        self.app = server.app
        server.app = self  # type: ignore[assignment]
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


class Client:
    """Keep-alive HTTP/1.1 client for the local gateway."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method: str, path: str, token: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return resp.status, json.loads(payload) if payload else None
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def api_event(stack: LocalStack, method: str, path: str, token: str, body: Any = None,
              key: str | None = None) -> dict[str, Any]:
    """The API Gateway event the local gateway would build for this request (its own code)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Host": "127.0.0.1"}
    if key:
        headers["Idempotency-Key"] = key
    builder = EnvironBuilder(method=method, path=path, headers=headers,
                             data=json.dumps(body) if body is not None else None)
    request = Request(builder.get_environ())
    route, params = stack.gateway.match(method, path)
    assert route is not None, path
    claims = stack.gateway._authorize(request)
    return stack.gateway.to_event(request, route, params, claims)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Handlers log and publish EMF metrics on stdout; keep them out of the report (they still write)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def replay(client: Any, calls: list[tuple[str, dict[str, Any]]],
           per_op: dict[str, list[float]] | None = None) -> None:
    for op, params in calls:
        start = time.perf_counter()
        getattr(client, xform_name(op))(**params)
        if per_op is not None:
            per_op.setdefault(op, []).append((time.perf_counter() - start) * 1000)


def fresh_transfer_calls(calls: list[tuple[str, dict[str, Any]]], i: int) -> list[tuple[str, dict[str, Any]]]:
    """The captured transfer sequence with a new idempotency record id and transaction id."""
    idem_id = next(p["Item"]["id"]["S"] for op, p in calls if op == "PutItem")
    tx_id = next(
        t["Put"]["Item"]["transaction_id"]["S"]
        for op, p in calls if op == "TransactWriteItems" for t in p["TransactItems"] if "Put" in t
    )
    text = json.dumps(calls).replace(idem_id, f"{idem_id}-bare{i}").replace(tx_id, f"{tx_id}-bare{i}")
    return [(op, params) for op, params in json.loads(text)]


class Janitor:
    """Deletes the items a sample wrote (PutItem and TransactWriteItems puts), outside the timed region."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.keys: dict[str, list[str]] = {}

    def key_names(self, table: str) -> list[str]:
        if table not in self.keys:
            schema = self.client.describe_table(TableName=table)["Table"]["KeySchema"]
            self.keys[table] = [k["AttributeName"] for k in schema]
        return self.keys[table]

    def sweep(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        written: list[tuple[str, dict[str, Any]]] = []
        for op, params in calls:
            if op == "PutItem":
                written.append((params["TableName"], params["Item"]))
            elif op == "TransactWriteItems":
                written += [(t["Put"]["TableName"], t["Put"]["Item"]) for t in params["TransactItems"] if "Put" in t]
        for table, item in written:
            key = {name: item[name] for name in self.key_names(table)}
            self.client.delete_item(TableName=table, Key=key)


def seed(stack: LocalStack, client: Client, alice: str) -> dict[str, str]:
    """Register alice and bob and fund alice, all through the API."""
    accounts = {}
    for name, token in (("alice", alice), ("bob", stack.token("bench-bob"))):
        status, body = client.call("POST", "/accounts", token, {}, key=f"bench-register-{name}")
        assert status == 201, body
        accounts[name] = body["account_id"]
    admin = stack.token("bench-admin", ["admin"])
    status, body = client.call("POST", f"/admin/accounts/{accounts['alice']}/deposits", admin,
                               {"amount": {"amount": 10_000_000, "currency": "CNY"}}, key="bench-fund")
    assert status == 201, body
    return accounts


def main() -> None:  # noqa: C901 - a benchmark script: set-up, each measured phase and the report, read top to bottom
    n = int(os.environ.get("BENCH_N", "300"))
    with LocalStack(api_port=0) as stack:
        from shared import aws  # after start: the client points at the emulator, as in the handlers

        ddb = aws.dynamodb()
        recorder = Recorder(ddb)
        counter = EmulatorCounter(stack)
        http_client = Client(stack.gateway.url)

        # --- seed through the API --------------------------------------------
        alice = stack.token("bench-alice")
        with quiet_stdout():
            accounts = seed(stack, http_client, alice)

        transfer_body = {"to_account_id": accounts["bob"], "amount": {"amount": 1, "currency": "CNY"}}
        get_event = api_event(stack, "GET", "/accounts/me", alice)
        get_function, transfer_function = (
            route.function for route, _ in (stack.gateway.match("GET", "/accounts/me"),
                                            stack.gateway.match("POST", "/transfers")) if route
        )

        def http_get() -> None:
            status, body = http_client.call("GET", "/accounts/me", alice)
            assert status == 200, body

        def http_transfer() -> None:
            status, body = http_client.call("POST", "/transfers", alice, transfer_body, key=str(uuid.uuid4()))
            assert status == 201, body

        def invoke(function: str, event: dict[str, Any], expect: int) -> Callable[[], None]:
            def call() -> None:
                result = stack.invoke(function, event)
                assert result["statusCode"] == expect, result

            return call

        # --- capture the exact request sequences and count them ---------------
        print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; "
              f"N={n} per case after {WARMUP} warm-up calls; emulator {stack.emulator.endpoint}")
        sequences: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        served: dict[str, int] = {}
        per_op: dict[str, dict[str, list[float]]] = {"GET /accounts/me": {}, "POST /transfers": {}}
        with quiet_stdout():
            for _ in range(3):  # first calls load the handlers and their clients
                http_get()
                http_transfer()
            for name, fn in (("GET /accounts/me", http_get), ("POST /transfers", http_transfer)):
                before = counter.count
                with recorder.capture() as calls:
                    fn()
                sequences[name] = calls
                served[name] = counter.count - before
        get_calls, transfer_calls = sequences["GET /accounts/me"], sequences["POST /transfers"]

        def bare_transfer_call(i: int) -> Callable[[], None]:
            calls = fresh_transfer_calls(transfer_calls, i)
            return lambda: replay(ddb, calls, per_op["POST /transfers"] if i >= 0 else None)

        cases = [
            (Case("GET /accounts/me"), {
                "http": lambda i: http_get,
                "handler": lambda i: invoke(get_function, get_event, 200),
                "bare": lambda i: lambda: replay(ddb, get_calls, per_op["GET /accounts/me"] if i >= 0 else None),
            }),
            (Case("POST /transfers"), {
                "http": lambda i: http_transfer,
                "handler": lambda i: invoke(transfer_function,
                                            api_event(stack, "POST", "/transfers", alice, transfer_body,
                                                      key=str(uuid.uuid4())), 201),
                "bare": lambda i: bare_transfer_call(i),
            }),
        ]

        janitor = Janitor(ddb)
        requests: dict[tuple[str, str], set[int]] = {}
        started = time.perf_counter()
        with quiet_stdout():
            for case, variants in cases:
                for i in range(-WARMUP, n):
                    names = list(variants)
                    shift = i % len(names)  # rotate the order within each round
                    for variant in names[shift:] + names[:shift]:
                        fn = variants[variant](i)  # built outside the timed region
                        recorder.take()
                        before = counter.count
                        ms = timed(fn)
                        sent = counter.count - before
                        calls = recorder.take()
                        janitor.sweep(calls)
                        if i >= 0:
                            case.samples[variant].append(ms)
                            requests.setdefault((case.name, variant), set()).add(sent)
            # Count what one bare replay sends, for the record.
            with recorder.capture() as bare_get:
                replay(ddb, get_calls)
            with recorder.capture() as bare_transfer:
                replay(ddb, fresh_transfer_calls(transfer_calls, n + 1))
            janitor.sweep(bare_transfer)

        # --- report -----------------------------------------------------------
        for name, calls, bare in (("GET /accounts/me", get_calls, bare_get),
                                  ("POST /transfers", transfer_calls, bare_transfer)):
            print(f"{name}: the handler sends {len(calls)} DynamoDB requests "
                  f"({' -> '.join(op for op, _ in calls)}); the emulator served {served[name]}; "
                  f"the bare replay sends {len(bare)}")
            print("  emulator requests per sample: " + ", ".join(
                f"{variant} {sorted(requests[(name, variant)])}" for variant in ("bare", "handler", "http")))
            print("  bare p50 per request: " + ", ".join(
                f"{op} {pct(v, 50):.2f} ms" for op, v in per_op[name].items()))
        header = (f"{'case':<18} {'variant':<8} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>8} "
                  f"{'p50 / bare':>10} {'p95 / bare':>10}")
        print(header)
        print("-" * len(header))
        verdicts = []
        for case, _ in cases:
            bare50, bare95 = pct(case.samples["bare"], 50), pct(case.samples["bare"], 95)
            for variant in ("bare", "handler", "http"):
                s = case.samples[variant]
                p50, p95 = pct(s, 50), pct(s, 95)
                print(f"{case.name:<18} {variant:<8} {p50:>7.2f} {p95:>7.2f} {statistics.fmean(s):>8.2f} "
                      f"{p50 / bare50:>9.2f}x {p95 / bare95:>9.2f}x")
            ratio = pct(case.samples["handler"], 50) / bare50
            overhead = pct(case.samples["handler"], 50) - bare50
            verdicts.append(f"{case.name}: handler/bare p50 {ratio:.2f}x (+{overhead:.2f} ms) "
                            f"{'PASS' if ratio <= TARGET else 'OVER TARGET'} (target <= {TARGET}x)")
        print("\n".join(verdicts))
        print(f"took {time.perf_counter() - started:.0f} s")
