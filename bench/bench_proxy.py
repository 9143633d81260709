"""Proxy mode (SPEC §7): code sign + verify, QR rendering (SVG, PNG), and execute latency vs a plain transfer.

* ``sign+verify``: ``CodeSigner.sign`` then ``verify`` of a fresh order id, in-process (µs per order).
* ``qr svg`` / ``qr png``: segno rendering of a fresh 77-character code at scale 8 (ms per order).
* ``execute`` vs ``transfer``: on one ``LocalStack(api_port=0)``, an agent executes top-up orders
  (``POST /proxy-orders/execute``) and, interleaved sample by sample, sends the same amount to the
  same user with ``POST /transfers``: both over HTTP with keep-alive, fresh Idempotency-Key each.
  Orders are created before the timed loop. The ratio execute p50 / transfer p50 is the figure:
  execute does verify + order read + account read + agent read + usage read + one 8-item
  ``TransactWriteItems`` (the transfer's five plus order, agent check, usage) + ``put_events``.

``BENCH_N`` (default 150) sets the number of HTTP samples of each kind.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
import uuid

from bench.bench_api_latency import Client, pct, quiet_stdout
from local_stack import LocalStack
from shared.proxy.codes import CodeSigner, KeyRing
from shared.proxy.qr import QrFormat, render


def micro(n: int = 20_000) -> None:
    signer = CodeSigner(KeyRing(active="k1", keys={"k1": secrets.token_bytes(48)}))
    ids = ["po_" + secrets.token_hex(16) for _ in range(n)]
    now = int(time.time())
    start = time.perf_counter()
    for oid in ids:
        signer.verify(signer.sign(oid, now + 120), now)
    per = (time.perf_counter() - start) / n * 1e6
    print(f"code sign+verify     {per:8.1f} µs/order   (n={n})")
    codes = [signer.sign(oid, now + 120) for oid in ids[:300]]
    for fmt in (QrFormat.SVG, QrFormat.PNG):
        samples = []
        for code in codes:
            t = time.perf_counter()
            data = render(code, fmt, scale=8)
            samples.append((time.perf_counter() - t) * 1000)
        print(f"qr {fmt.value:<4} render       {statistics.median(samples):8.2f} ms/order p50, "
              f"p95 {pct(samples, 95):.2f} ms, {len(data)} bytes")


def http(n: int) -> None:
    with quiet_stdout(), LocalStack(api_port=0, time_scale=0.001) as stack:
        client = Client(stack.gateway.url)
        admin = stack.token("bench-admin", ["admin"])

        def user(balance: int) -> tuple[str, str]:
            sub = f"bench-{uuid.uuid4().hex[:8]}"
            token = stack.token(sub)
            status, body = client.call("POST", "/accounts", token, {}, key=f"register-{sub}")
            assert status == 201, body
            if balance:
                status, body = client.call("POST", f"/admin/accounts/{body['account_id']}/deposits", admin,
                                           {"amount": {"amount": balance, "currency": "CNY"}}, str(uuid.uuid4()))
                assert status == 201, body
                return token, body["to_account_id"]
            return token, body["account_id"]

        user_token, user_account = user(0)
        agent_token, agent_account = user(50_000_000)
        status, body = client.call("POST", "/admin/agents", admin,
                                   {"account_id": agent_account, "limits": {"per_order": 10_000, "daily": 10**9}},
                                   str(uuid.uuid4()))
        assert status == 201, body
        codes = []
        for _ in range(n + 10):
            status, body = client.call("POST", "/proxy-orders", user_token,
                                       {"type": "TOP_UP", "amount": {"amount": 100, "currency": "CNY"},
                                        "proxy_mode": True}, str(uuid.uuid4()))
            assert status == 201, body
            codes.append(body["code"])
        execute, transfer = [], []
        for i, code in enumerate(codes):
            t = time.perf_counter()
            status, body = client.call("POST", "/proxy-orders/execute", agent_token,
                                       {"code": code, "proxy_account_id": agent_account}, str(uuid.uuid4()))
            e = (time.perf_counter() - t) * 1000
            assert status == 200, body
            t = time.perf_counter()
            status, body = client.call("POST", "/transfers", agent_token,
                                       {"to_account_id": user_account, "amount": {"amount": 100, "currency": "CNY"}},
                                       str(uuid.uuid4()))
            p = (time.perf_counter() - t) * 1000
            assert status == 201, body
            if i >= 10:  # warm-up
                execute.append(e)
                transfer.append(p)
    ep, tp = statistics.median(execute), statistics.median(transfer)
    print(f"execute (HTTP)       {ep:8.2f} ms p50, p95 {pct(execute, 95):.2f} ms   (n={len(execute)})")
    print(f"transfer (HTTP)      {tp:8.2f} ms p50, p95 {pct(transfer, 95):.2f} ms   (same run, interleaved)")
    print(f"ratio execute/transfer p50: {ep / tp:.2f}")


def main() -> None:
    micro()
    http(int(os.environ.get("BENCH_N", "150")))


if __name__ == "__main__":
    main()
