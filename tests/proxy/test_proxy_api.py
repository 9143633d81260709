"""Proxy mode over HTTP on the local stack: security refusals, holds, QR, expiry, reversal, agents, events."""

from __future__ import annotations

import json
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import zxingcpp

from local_stack import LocalStack
from tests.conftest import Api
from tests.proxy.conftest import Proxy, sum_balances


# --- image decoding for the QR test (PNG without Pillow; segno's SVG path) ----------------------
def png_to_gray(data: bytes) -> tuple[bytes, int, int]:
    """Decode a greyscale PNG (any bit depth, any filter) into 8-bit rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert color == 0, "segno writes greyscale"
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    rows, prev, out = [], bytearray(stride), bytearray()
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 1] if i else 0
            b, c = prev[i], (prev[i - 1] if i else 0)
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2,
                    4: min((a, b, c), key=lambda p: (abs(a + b - c - p), (a, b, c).index(p)))}[ftype]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
        for x in range(width):
            bit = (line[(x * depth) // 8] >> (8 - depth - (x * depth) % 8)) & ((1 << depth) - 1)
            out.append(bit * 255 // ((1 << depth) - 1))
    return bytes(out), width, height


def svg_to_gray(svg: str, scale: int = 4) -> tuple[bytes, int, int]:
    """Rasterise segno's SVG: one path of horizontal runs ``M x y h n m dx dy h n ...`` (line centres)."""
    import re

    size = int(re.search(r'width="(\d+)"', svg).group(1)) // int(re.search(r"scale\((\d+)\)", svg).group(1))
    path = re.search(r' d="([^"]+)"', svg).group(1)
    grid = [[255] * size for _ in range(size)]
    x = y = 0.0
    for op, args in re.findall(r"([MmHhVv])([-\d. ]+)", path.replace("h", " h").replace("m", " m").replace(
            "M", " M")):
        nums = [float(n) for n in args.split()]
        if op == "M":
            x, y = nums
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        elif op == "h":
            for i in range(int(nums[0])):
                grid[int(y)][int(x) + i] = 0
            x += nums[0]
    out = bytearray()
    for row in grid:
        line = bytearray(v for v in row for _ in range(scale))
        out += bytes(line) * scale
    return bytes(out), size * scale, size * scale


def decode(gray: bytes, width: int, height: int) -> list[str]:
    view = memoryview(gray).cast("B", (height, width))
    return [r.text for r in zxingcpp.read_barcodes(view)]


# --- tests --------------------------------------------------------------------------------------
def test_qr_png_and_svg_decode_back_to_the_code(api: Api, proxy: Proxy) -> None:
    user = api.user(balance=10_000)
    order = proxy.order(user, "WITHDRAW", 2_000)
    png = api.call("GET", f"/proxy-orders/{order['order_id']}/qr?format=png&scale=6", token=user.token)
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    assert decode(*png_to_gray(png.raw)) == [order["code"]]
    svg = api.call("GET", f"/proxy-orders/{order['order_id']}/qr", token=user.token)
    assert svg.status == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert decode(*svg_to_gray(svg.raw.decode())) == [order["code"]]
    # only the owner gets the image
    other = api.user()
    assert api.call("GET", f"/proxy-orders/{order['order_id']}/qr", token=other.token).status == 404


def test_another_users_order_is_404_everywhere(api: Api, proxy: Proxy) -> None:
    owner, mallory = api.user(balance=5_000), api.user(balance=5_000)
    oid = proxy.order(owner, "WITHDRAW", 1_000)["order_id"]
    calls = [("GET", f"/proxy-orders/{oid}", None), ("GET", f"/proxy-orders/{oid}/qr", None),
             ("POST", f"/proxy-orders/{oid}/cancel", None),
             ("POST", f"/proxy-orders/{oid}/confirmation", {"approve": True}),
             ("POST", f"/proxy-orders/{oid}/reversal-requests", {"reason": "mine now"})]
    for method, path, body in calls:
        reply = api.call(method, path, body, token=mallory.token, key=str(uuid.uuid4()))
        assert reply.status == 404, (path, reply.body)
        assert reply.code == "PROXY_ORDER_NOT_FOUND"
    assert proxy.get(owner, oid).body["status"] == "PENDING" and api.balance(owner) == 4_000


def test_ineligible_proxy_is_403_with_the_reason(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # FriendWithdrawals=false: cash-out by agents only (friend withdrawals: tests/proxy/test_friend_withdrawals.py)
    monkeypatch.setitem(clean_stack.registry.specs["ExecuteProxyOrderFunction"].environment,
                        "PROXY_FRIEND_WITHDRAWALS", "false")
    user, friend, agent = api.user(balance=5_000), api.user(balance=100), proxy.agent(balance=10_000)
    top_up = proxy.order(user, "TOP_UP", 1_000)["code"]
    withdrawal = proxy.order(user, "WITHDRAW", 1_000)["code"]
    cases = [(friend, top_up, agent.account_id, "ACCOUNT_NOT_OWNED"),
             (friend, top_up, friend.account_id, "INSUFFICIENT_BALANCE"),
             (friend, withdrawal, friend.account_id, "WITHDRAWAL_REQUIRES_AGENT"),
             (user, top_up, user.account_id, "SELF_PROXY")]
    for caller, code, account, reason in cases:
        reply = proxy.execute(caller, code, account)
        assert reply.status == 403 and reply.code == "PROXY_NOT_ELIGIBLE", reply.body
        assert reply.body["error"]["details"]["reason"] == reason
    assert api.balance(friend) == 100 and api.balance(agent) == 10_000


def test_agent_over_its_limits_is_409_with_the_limit_named(api: Api, proxy: Proxy) -> None:
    user = api.user(balance=100_000)
    agent = proxy.agent(balance=100_000, per_order=5_000, daily=8_000)
    over = proxy.execute(agent, proxy.order(user, "TOP_UP", 6_000)["code"])
    assert over.status == 409 and over.code == "AGENT_LIMIT_EXCEEDED"
    assert over.body["error"]["details"]["limit"] == "per_order"
    assert proxy.execute(agent, proxy.order(user, "WITHDRAW", 5_000)["code"]).status == 200
    daily = proxy.execute(agent, proxy.order(user, "TOP_UP", 4_000)["code"])
    assert daily.status == 409 and daily.body["error"]["details"]["limit"] == "daily"
    me = api.call("GET", "/agents/me", token=agent.token).body
    assert me["today"] == {"amount": 5_000, "count": 1, "remaining": 3_000}
    assert me["float"] == {"amount": 105_000, "currency": "CNY"}


def test_withdrawal_hold_cannot_be_spent_and_cancel_releases_once(api: Api, proxy: Proxy) -> None:
    user, payee = api.user(balance=5_000), api.user()
    oid = proxy.order(user, "WITHDRAW", 4_000)["order_id"]
    spend = api.call("POST", "/transfers", {"to_account_id": payee.account_id,
                                             "amount": {"amount": 2_000, "currency": "CNY"}},
                     token=user.token, key=str(uuid.uuid4()))
    assert spend.status == 409 and spend.code == "INSUFFICIENT_FUNDS"
    assert proxy.cancel(user, oid).body["status"] == "CANCELLED"
    again = proxy.cancel(user, oid)
    assert again.status == 409 and again.code == "ORDER_NOT_PENDING"
    assert api.balance(user) == 5_000


@pytest.mark.usefixtures("schedules_held")
def test_expiry_refuses_the_code_and_the_sweep_releases_once(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # (the scheduled sweep is held: the counts below are the direct sweeps' own)
    monkeypatch.setitem(clean_stack.registry.specs["CreateProxyOrderFunction"].environment,
                        "PROXY_CODE_TTL_SECONDS", "1")
    user, agent = api.user(balance=5_000), proxy.agent(balance=1_000)
    total, _ = sum_balances(api)
    order = proxy.order(user, "WITHDRAW", 3_000)
    top_up = proxy.order(user, "TOP_UP", 500)
    assert api.balance(user) == 2_000
    time.sleep(1.1)
    late = proxy.execute(agent, order["code"])
    assert late.status == 409 and late.code == "PROXY_CODE_EXPIRED"
    assert clean_stack.invoke("ExpireProxyOrdersFunction", {}) == {"expired": 2}
    assert clean_stack.invoke("ExpireProxyOrdersFunction", {}) == {"expired": 0}
    assert api.balance(user) == 5_000 and sum_balances(api)[0] == total
    assert proxy.get(user, order["order_id"]).body["status"] == "EXPIRED"
    assert proxy.get(user, top_up["order_id"]).body["status"] == "EXPIRED"
    assert proxy.cancel(user, order["order_id"]).status == 409


def test_the_scheduled_sweep_expires_orders_by_itself(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a withdrawal order whose code lives 1 s, and nobody calling the sweep
    monkeypatch.setitem(clean_stack.registry.specs["CreateProxyOrderFunction"].environment,
                        "PROXY_CODE_TTL_SECONDS", "1")
    user = api.user(balance=5_000)
    order = proxy.order(user, "WITHDRAW", 3_000)
    assert api.balance(user) == 2_000
    # When the template's schedule fires by itself (rate(1 minute); every 6 s on the test stack's clock)
    fired = clean_stack.scheduler.fired["ExpireProxyOrdersFunctionSweep"]
    deadline = time.monotonic() + 20
    while proxy.get(user, order["order_id"]).body["status"] != "EXPIRED":
        assert time.monotonic() < deadline, "the expiry sweep never ran"
        time.sleep(0.1)
    # Then the order expired and its hold was released, once
    assert clean_stack.scheduler.fired["ExpireProxyOrdersFunctionSweep"] > fired
    clean_stack.drain()
    assert api.balance(user) == 5_000


def test_reversal_request_and_decision(api: Api, proxy: Proxy) -> None:
    user, agent = api.user(balance=5_000), proxy.agent(balance=10_000)
    order = proxy.order(user, "WITHDRAW", 2_000)
    assert proxy.execute(agent, order["code"]).status == 200
    path = f"/proxy-orders/{order['order_id']}/reversal-requests"
    created = api.call("POST", path, {"reason": "handed out 10 instead of 20"}, token=agent.token,
                       key=str(uuid.uuid4()))
    assert created.status == 201, created.body
    rid = created.body["request_id"]
    dup = api.call("POST", path, {"reason": "again"}, token=user.token, key=str(uuid.uuid4()))
    assert dup.status == 409 and dup.code == "REVERSAL_NOT_ALLOWED"
    reviewer = api.token("rev-1", "reviewer")
    queue = api.call("GET", "/admin/proxy-reversals", token=reviewer)
    assert queue.status == 200 and [r["request_id"] for r in queue.body["items"]] == [rid]
    assert queue.body["items"][0]["order_id"] == order["order_id"]
    assert api.call("GET", "/admin/proxy-reversals", token=user.token).status == 403
    assert api.call("GET", "/admin/proxy-reversals?next_token=garbage", token=reviewer).status == 400
    decide = f"/admin/proxy-reversals/{rid}/decision"
    assert api.call("POST", decide, {"approve": True}, token=user.token, key="k1").status == 403
    done = api.call("POST", decide, {"approve": True, "note": "checked"},
                    token=api.token("rev-1", "reviewer"), key=str(uuid.uuid4()))
    assert done.status == 200 and done.body["status"] == "APPROVED" and done.body["transaction_id"]
    twice = api.call("POST", decide, {"approve": True}, token=api.token("ops-admin", "admin"), key=str(uuid.uuid4()))
    assert twice.status == 409
    assert api.balance(user) == 5_000 and api.balance(agent) == 10_000
    assert proxy.get(user, order["order_id"]).body["status"] == "REVERSED"
    assert api.call("GET", "/admin/proxy-reversals", token=reviewer).body["items"] == []
    approved = api.call("GET", "/admin/proxy-reversals?status=APPROVED", token=reviewer).body["items"]
    assert [r["request_id"] for r in approved] == [rid]


def test_agent_day_listing_totals_match_the_ledger(api: Api, proxy: Proxy) -> None:
    user, agent = api.user(balance=50_000), proxy.agent(balance=50_000)
    for type, amount in (("TOP_UP", 1_200), ("WITHDRAW", 3_000), ("TOP_UP", 800), ("WITHDRAW", 450)):
        assert proxy.execute(agent, proxy.order(user, type, amount)["code"]).status == 200
    proxy.order(user, "TOP_UP", 999)  # not executed: not listed
    listing = api.call("GET", "/agents/me/orders", token=agent.token).body
    assert listing["totals"] == {"count": 4, "top_up_amount": 2_000, "withdrawal_amount": 3_450, "net": 1_450,
                                 "currency": "CNY"}
    entries = api.call("GET", "/accounts/me/entries?limit=100", token=agent.token).body["items"]
    proxy_entries = [e for e in entries if e["type"] in ("PROXY_TOP_UP", "PROXY_WITHDRAWAL")]
    net = sum(e["amount"]["amount"] * (1 if e["direction"] == "CREDIT" else -1) for e in proxy_entries)
    assert net == listing["totals"]["net"]
    assert {i["transaction_id"] for i in listing["items"]} == {e["transaction_id"] for e in proxy_entries}
    day = listing["date"]
    assert api.call("GET", "/agents/me/orders?date=2000-01-01", token=agent.token).body["totals"]["count"] == 0
    assert api.call("GET", f"/agents/me/orders?date={day}", token=agent.token).body["totals"]["count"] == 4
    assert api.call("GET", "/agents/me", token=user.token).status == 404


def test_confirmation_step_when_configured(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(clean_stack.registry.specs["ExecuteProxyOrderFunction"].environment,
                        "PROXY_CONFIRMATION_REQUIRED", "true")
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    order = proxy.order(user, "TOP_UP", 1_000)
    pending = proxy.execute(agent, order["code"])
    assert pending.status == 202 and pending.body["status"] == "AWAITING_CONFIRMATION"
    assert pending.body["parties"]["proxy"]["display_name"] == "C*******"
    assert api.balance(agent) == 5_000
    path = f"/proxy-orders/{order['order_id']}/confirmation"
    assert api.call("POST", path, {"approve": True}, token=agent.token, key="x").status == 404
    done = api.call("POST", path, {"approve": True}, token=user.token, key=str(uuid.uuid4()))
    assert done.status == 200 and done.body["status"] == "EXECUTED", done.body
    assert (api.balance(user), api.balance(agent)) == (6_000, 4_000)


def test_idempotency_key_on_every_mutating_route(api: Api, proxy: Proxy) -> None:
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    order = proxy.order(user, "TOP_UP", 1_000)
    oid = order["order_id"]
    mutating = [("/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 1, "currency": "CNY"}, "proxy_mode": True}),
                ("/proxy-orders/execute", {"code": order["code"], "proxy_account_id": agent.account_id}),
                (f"/proxy-orders/{oid}/confirmation", {"approve": True}), (f"/proxy-orders/{oid}/cancel", None),
                (f"/proxy-orders/{oid}/reversal-requests", {"reason": "x"}),
                ("/admin/proxy-reversals/prr_x/decision", {"approve": True}),
                ("/admin/agents", {"account_id": user.account_id, "limits": {"per_order": 1, "daily": 1}})]
    admin = api.token("ops-admin", "admin")
    for path, body in mutating:
        reply = api.call("POST", path, body, token=admin if "/admin/" in path else user.token)
        assert reply.status == 400 and reply.code == "IDEMPOTENCY_KEY_REQUIRED", (path, reply.body)
    # a replayed create returns the same order; a replayed execution the same receipt, once
    key = str(uuid.uuid4())
    first = proxy.create(user, "TOP_UP", 700, key=key)
    assert proxy.create(user, "TOP_UP", 700, key=key).body == first.body
    ekey = str(uuid.uuid4())
    receipt = proxy.execute(agent, first.body["code"], key=ekey)
    replay = proxy.execute(agent, first.body["code"], key=ekey)
    assert replay.status == 200 and replay.body == receipt.body and replay.headers.get("Idempotent-Replayed")
    assert api.balance(user) == 5_700


def _snapshot(stack: LocalStack) -> Any:
    ddb = stack.client("dynamodb")
    return {t: sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=t)["Items"])
            for t in ("ProxyOrdersTable", "ProxyAgentsTable", "LedgerTable", "AccountsTable")}


def test_bad_input_on_every_route_is_4xx_and_changes_nothing(api: Api, proxy: Proxy, clean_stack: LocalStack) -> None:
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    order = proxy.order(user, "WITHDRAW", 1_000)
    oid = order["order_id"]
    admin = api.token("ops-admin", "admin")
    money = {"amount": 100, "currency": "CNY"}
    bad: list[tuple[str, str, Any, str | None]] = [
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": money}, None),  # proxy_mode missing -> 400
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": money, "proxy_mode": False}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": money, "proxy_mode": "true"}, None),
        ("POST", "/proxy-orders", {"type": "LOAN", "amount": money, "proxy_mode": True}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 1.5, "currency": "CNY"},
                                   "proxy_mode": True}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": -5, "currency": "CNY"},
                                   "proxy_mode": True}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 5, "currency": "USD"},
                                   "proxy_mode": True}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": {"amount": 10**9, "currency": "CNY"},
                                   "proxy_mode": True}, None),
        ("POST", "/proxy-orders", {"type": "TOP_UP", "amount": money, "proxy_mode": True, "owner": "x"}, None),
        ("POST", "/proxy-orders", "not json", None),
        ("POST", "/proxy-orders/execute", {"code": order["code"]}, None),
        ("POST", "/proxy-orders/execute", {"code": 12, "proxy_account_id": agent.account_id}, None),
        ("POST", "/proxy-orders/execute", {"code": "P1.k1.garbage", "proxy_account_id": agent.account_id}, None),
        ("POST", "/proxy-orders/execute", {"code": "x" * 10_000, "proxy_account_id": agent.account_id}, None),
        ("POST", "/proxy-orders/execute", {"code": order["code"], "proxy_account_id": "../../etc"}, None),
        ("POST", "/proxy-orders/execute", {"code": order["code"][:-1] + ("B" if order["code"].endswith("A") else "A"),
                                           "proxy_account_id": agent.account_id},
         "agent"),
        ("GET", "/proxy-orders/nope", None, None),
        ("GET", f"/proxy-orders/{'a' * 500}", None, None),
        ("GET", f"/proxy-orders/{oid}/qr?format=gif", None, None),
        ("GET", f"/proxy-orders/{oid}/qr?scale=0", None, None),
        ("GET", f"/proxy-orders/{oid}/qr?scale=lots", None, None),
        ("POST", "/proxy-orders/po_nope/cancel", None, None),
        ("POST", f"/proxy-orders/{oid}/confirmation", {"approve": "yes"}, None),
        ("POST", f"/proxy-orders/{oid}/confirmation", {"approve": True}, None),  # not awaiting -> 409
        ("POST", f"/proxy-orders/{oid}/reversal-requests", {"reason": ""}, None),
        ("POST", f"/proxy-orders/{oid}/reversal-requests", {"reason": "x" * 501}, None),
        ("POST", f"/proxy-orders/{oid}/reversal-requests", {"reason": "not executed"}, None),
        ("POST", "/admin/proxy-reversals/prr_nope/decision", {"approve": True}, "admin"),
        ("POST", "/admin/proxy-reversals/prr_nope/decision", {}, "admin"),
        ("POST", "/admin/proxy-reversals/prr_nope/decision", {"approve": True}, None),
        ("POST", "/admin/agents", {"account_id": user.account_id, "limits": {"per_order": 1, "daily": 1}}, None),
        ("POST", "/admin/agents", {"account_id": user.account_id, "limits": {"per_order": 5, "daily": 1}}, "admin"),
        ("POST", "/admin/agents", {"account_id": user.account_id, "limits": {"per_order": -1, "daily": 1}}, "admin"),
        ("POST", "/admin/agents", {"account_id": "acc_missing", "limits": {"per_order": 1, "daily": 1}}, "admin"),
        ("POST", "/admin/agents", {"account_id": agent.account_id, "limits": {"per_order": 1, "daily": 1}}, "admin"),
        ("GET", "/agents/me/orders?date=2026-13-45", None, "agent"),
        ("GET", "/agents/me/orders?date=yesterday", None, "agent"),
    ]
    before = _snapshot(clean_stack)
    for method, path, body, who in bad:
        token = admin if who == "admin" else agent.token if who == "agent" else user.token
        raw = body.encode() if isinstance(body, str) else None
        reply = api.call(method, path, None if raw else body, token=token, key=str(uuid.uuid4()), raw=raw)
        assert 400 <= reply.status < 500, (method, path, body, reply.status, reply.body)
        assert reply.body and "error" in reply.body, (path, reply.body)
    assert api.call("GET", "/proxy-orders", token=user.token).status in (403, 404, 405)
    assert api.call("POST", "/proxy-orders/execute", {"code": "x", "proxy_account_id": agent.account_id},
                    key="k").status == 401
    assert _snapshot(clean_stack) == before


def bus_probe(stack: LocalStack) -> Callable[[], list[dict[str, Any]]]:
    """A queue subscribed to every proxy event on the bus; returns a function draining what arrived so far."""
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_url = sqs.create_queue(QueueName="proxy-events-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="probe", EventBusName="ProxyEventBus", EventPattern=json.dumps({"source": ["wallet.proxy"]}))
    events.put_targets(Rule="probe", EventBusName="ProxyEventBus", Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        for _ in range(20):
            msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            seen += [json.loads(m["Body"]) for m in msgs]
            for m in msgs:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            if not msgs:
                break
        return seen

    return drain


def test_every_state_change_is_published_on_the_bus(api: Api, proxy: Proxy, clean_stack: LocalStack) -> None:
    drain = bus_probe(clean_stack)
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    executed = proxy.order(user, "TOP_UP", 1_000)
    proxy.execute(agent, executed["code"])
    proxy.cancel(user, proxy.order(user, "WITHDRAW", 500)["order_id"])
    clean_stack.drain_streams(timeout=20)  # events are published from the orders table's stream (the outbox)
    seen = drain()
    types = sorted(e["detail-type"] for e in seen)
    assert types == ["ProxyAgentRegistered", "ProxyOrderCancelled", "ProxyOrderCreated", "ProxyOrderCreated",
                     "ProxyOrderExecuted"]
    assert user.sub not in json.dumps(seen) and user.account_id not in json.dumps(seen)


@pytest.mark.usefixtures("schedules_held")
def test_expiry_confirmation_and_reversal_events_are_published_once(api: Api, proxy: Proxy, clean_stack: LocalStack,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Expired (sweep), AwaitingConfirmation, ReversalRequested, OrderReversed, ReversalRejected: each exactly
    once per state change, with the order id, and no personal data; repeated requests emit nothing more."""
    drain = bus_probe(clean_stack)
    specs = clean_stack.registry.specs
    monkeypatch.setitem(specs["ExecuteProxyOrderFunction"].environment, "PROXY_CONFIRMATION_REQUIRED", "true")
    user, agent = api.user(balance=50_000), proxy.agent(balance=50_000, name="Corner Shop")
    with monkeypatch.context() as short:
        short.setitem(specs["CreateProxyOrderFunction"].environment, "PROXY_CODE_TTL_SECONDS", "1")
        expiring, expires_by = proxy.order(user, "WITHDRAW", 700)["order_id"], time.time() + 1.1
    reversed_, rejected = proxy.order(user, "TOP_UP", 1_000), proxy.order(user, "WITHDRAW", 2_000)
    for order in (reversed_, rejected):
        assert proxy.execute(agent, order["code"]).status == 202
        assert proxy.execute(agent, order["code"]).code == "ORDER_NOT_PENDING"  # no second AwaitingConfirmation
        path, key = f"/proxy-orders/{order['order_id']}/confirmation", str(uuid.uuid4())
        for _ in range(2):  # an idempotent replay of the confirmation emits nothing more
            assert api.call("POST", path, {"approve": True}, token=user.token, key=key).status == 200
    reviewer, requests = api.token("rev-1", "reviewer"), {}
    for order, approve in ((reversed_, True), (rejected, False)):
        path = f"/proxy-orders/{order['order_id']}/reversal-requests"
        reply = api.call("POST", path, {"reason": "Alice Zhang says: wrong amount"}, token=user.token,
                         key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
        requests[order["order_id"]] = rid = reply.body["request_id"]
        for attempt in range(2):  # the second decision is refused and emits nothing
            decision = api.call("POST", f"/admin/proxy-reversals/{rid}/decision",
                                {"approve": approve, "note": "called Alice on +86 138 0000 0000"},
                                token=reviewer, key=str(uuid.uuid4()))
            assert decision.status == (200 if attempt == 0 else 409), decision.body
    time.sleep(max(0.0, expires_by - time.time()))
    assert clean_stack.invoke("ExpireProxyOrdersFunction", {}) == {"expired": 1}
    assert clean_stack.invoke("ExpireProxyOrdersFunction", {}) == {"expired": 0}

    clean_stack.drain_streams(timeout=20)  # events are published from the orders table's stream (the outbox)
    seen = drain()
    got = sorted((e["detail-type"], e["detail"].get("order_id", "")) for e in seen)
    rev, rej = reversed_["order_id"], rejected["order_id"]
    expected = [("ProxyAgentRegistered", ""), ("ProxyOrderCreated", expiring), ("ProxyOrderExpired", expiring)]
    for oid, last in ((rev, "ProxyOrderReversed"), (rej, "ProxyReversalRejected")):
        expected += [("ProxyOrderCreated", oid), ("ProxyOrderAwaitingConfirmation", oid), ("ProxyOrderExecuted", oid),
                     ("ProxyReversalRequested", oid), (last, oid)]
    assert got == sorted(expected)
    for event in seen:
        if event["detail-type"].startswith("ProxyReversal"):
            assert event["detail"]["request_id"] == requests[event["detail"]["order_id"]]
    text = json.dumps(seen)
    for personal in (user.sub, agent.sub, user.account_id, agent.account_id, "rev-1", "Corner Shop", "Alice",
                     "+86 138"):
        assert personal not in text, personal


def test_signing_key_secret_is_provisioned_from_the_template(clean_stack: LocalStack) -> None:
    sm = clean_stack.client("secretsmanager")
    value = json.loads(sm.get_secret_value(SecretId="ProxyCodeKeySecret")["SecretString"])
    assert value["active_kid"] == "k1" and len(value["k1"]) == 64 and value["k1"].isalnum()
    clean_stack.reset()
    assert json.loads(sm.get_secret_value(SecretId="ProxyCodeKeySecret")["SecretString"]) == value




def test_forged_codes_touch_no_table_not_even_the_idempotency_record(api: Api, proxy: Proxy,
                                                                     clean_stack: LocalStack) -> None:
    user, agent = api.user(balance=5_000), proxy.agent(balance=5_000)
    code = proxy.order(user, "WITHDRAW", 1_000)["code"]
    before = _snapshot(clean_stack), clean_stack.client("dynamodb").scan(TableName="IdempotencyTable")["Count"]
    for forged in (code[:-2] + ("AA" if code[-2:] != "AA" else "BB"), code[:40], "P1.k9." + code[6:], "nope"):
        reply = proxy.execute(agent, forged)
        assert reply.status == 422 and reply.code == "INVALID_PROXY_CODE", reply.body
    after = _snapshot(clean_stack), clean_stack.client("dynamodb").scan(TableName="IdempotencyTable")["Count"]
    assert after == before
