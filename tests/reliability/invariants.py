"""The platform's invariants, read from the stored items after a use case ran (crashes, faults, replays).

Each check returns nothing and raises ``AssertionError`` naming what broke. ``check_all`` runs every one; the
crash, fault and model tests call it after each run, so a new invariant added here covers every use case.

* money (``money``): the reconciliation the platform runs in production (``GET /admin/reconciliation``: Σ
  balances = 0 per currency, holds = open withdrawals, campaign pots = pot - paid, balances = entries, no
  negative customer balance) is clean, and each transaction is recorded once with exactly two entries;
* vouchers (``vouchers``): every voucher is in exactly one place (held by one user or pooled), every issued
  voucher is somewhere, the pool's shard counters agree with the pooled items, each voucher left its source
  once and every pool allocation follows a pass, claim rights are used at most once (used <= granted), the
  per-user held counters agree with the holdings;
* events (``events``): each ledger transaction wrote exactly one ``TransferCompleted`` outbox item naming it,
  and each campaign change (campaign created, interaction recorded, voucher claimed / key-user claimed / passed,
  tally, prize paid) and each proxy order version (created, every transition, the reversal request) and
  rejected reversal, and each group creation (joins minus leaves = members - 1) exactly its one event (the
  transactional outbox: the event commits with the change or not
  at all), and no outbox publisher gave up on a batch (none failed over to its DLQ), so every such event
  reached the bus at least once;
* idempotency (``idempotency``): no record is left ``INPROGRESS`` (a crashed request's record carries its
  in-progress expiry and the retry after it completed), and every record has an expiry;
* bank binding (``bindings``): a BOUND request has exactly one activated binding, a FAILED one none (never half
  bound), a card is held by at most one active binding and every card claim names an active binding;
* real-name (``real_names``): every identity claim's owner has its real-name record, a user has at most one
  VERIFIED session and each has its record.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from typing import Any

from local_stack import LocalStack
from shared.dynamo import from_item


def scan(stack: LocalStack, table: str, pk_prefix: str | None = None) -> list[dict[str, Any]]:
    """Every item of ``table`` (those whose ``pk`` starts with ``pk_prefix``, when given)."""
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if pk_prefix is not None:
        kwargs.update(FilterExpression="begins_with(pk, :p)", ExpressionAttributeValues={":p": {"S": pk_prefix}})
    while True:
        page = ddb.scan(**kwargs)
        items += [from_item(i) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def money(stack: LocalStack) -> None:
    from tests.conftest import Api

    api = Api(stack)
    reply = api.call("GET", "/admin/reconciliation", token=api.token("reliability-auditor", "admin"))
    assert reply.status == 200, reply.body
    broken = [i for i in reply.body["invariants"] if not i["ok"]]
    assert reply.body["clean"] and not broken, f"ledger invariants broken: {broken}"
    ledger = scan(stack, "LedgerTable")
    records = Counter(str(i["transaction_id"]) for i in ledger if i.get("entity") == "TRANSACTION")
    entries = Counter(str(i["transaction_id"]) for i in ledger if i.get("entity") == "ENTRY")
    assert all(n == 1 for n in records.values()), "a transaction recorded twice"
    assert set(records) == set(entries) and set(entries.values()) <= {2}, "a transaction without its two entries"


def vouchers(stack: LocalStack, items: list[dict[str, Any]] | None = None) -> None:
    """``items``: the campaign items to check (default: the whole table)."""
    items = scan(stack, "CampaignsTable") if items is None else items
    by_campaign: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in items:
        pk = str(i.get("pk", ""))
        if pk.startswith("C#"):
            by_campaign[pk[2:].split("#", 1)[0]].append(i)
    for cid, mine in by_campaign.items():
        holdings = [i for i in mine if str(i["sk"]).startswith("V#")]
        pooled = [i for i in mine if "#P#" in str(i["pk"]) and str(i["sk"]).startswith("K#")]
        shards = [i for i in mine if i["sk"] == "#SHARD"]
        places = Counter([str(i["voucher_id"]) for i in holdings] + [str(i["voucher_id"]) for i in pooled])
        assert all(n == 1 for n in places.values()), (cid, [v for v, n in places.items() if n > 1])
        if shards:
            assert len(places) == sum(int(s["issued"]) for s in shards), (cid, "issued vouchers missing")
            by_kind = Counter(str(i["kind"]) for i in pooled)
            assert {k: sum(int(s.get("pool", {}).get(k, 0)) for s in shards) for k in by_kind} == dict(by_kind)
        audit: dict[str, list[str]] = defaultdict(list)
        for i in mine:
            if i.get("entity") == "VOUCHER_AUDIT":
                audit[str(i["voucher_id"])].append(str(i["action"]))
        pooled_ids = {str(i["voucher_id"]) for i in pooled}
        for vid, actions in audit.items():
            counts = Counter(actions)
            assert counts["ISSUER"] + counts["KEY_USER"] == 1, (cid, vid, actions)
            assert counts["FROM_POOL"] == counts["PASSED"] - (1 if vid in pooled_ids else 0), (cid, vid, actions)
        for state in (i for i in mine if i["sk"] == "#STATE"):
            assert int(state.get("rights_used", 0)) <= int(state.get("rights_granted", 0)), (cid, state)
            held = Counter(str(h["kind"]) for h in holdings if h["holder"] == state["user_id"]
                           and h.get("status", "HELD") == "HELD")
            assert {k: v for k, v in (state.get("held") or {}).items() if v} == dict(held), (cid, state["user_id"])


def idempotency(stack: LocalStack) -> None:
    now = time.time()
    for record in scan(stack, "IdempotencyTable"):
        assert record.get("status") != "INPROGRESS", f"an idempotency record is stuck in progress: {record['id']}"
        assert float(record.get("expiration", 0)) > now - 1, f"an idempotency record without expiry: {record['id']}"


def bindings(stack: LocalStack) -> None:
    """Bank binding never double-binds nor leaves a half-bound state: a BOUND request has exactly one activated
    binding, a FAILED one none; a card (partner, fingerprint) is held by at most one active binding and its claim
    names an active binding of that card."""
    items = scan(stack, stack.template.physical_name("BindingsTable"))
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in (i for i in items if i.get("entity") == "BINDING"):
        by_request[str(b["binding_request_id"])].append(b)
    for r in (i for i in items if i.get("entity") == "REQUEST"):
        mine = by_request.get(str(r["binding_request_id"]), [])
        if r["status"] == "BOUND":
            assert len(mine) == 1 and mine[0]["activated"], f"request {r['binding_request_id']}: bound {len(mine)}x"
        elif r["status"] == "FAILED":
            assert not mine, f"request {r['binding_request_id']} FAILED but left its binding (half-bound)"
    active = [b for bs in by_request.values() for b in bs if b.get("status", "ACTIVE") == "ACTIVE"]
    cards = Counter((str(b["partner_id"]), str(b["card_fingerprint"])) for b in active)
    assert all(n == 1 for n in cards.values()), f"a card bound twice: {[c for c, n in cards.items() if n > 1]}"
    by_id = {str(b["binding_id"]): b for b in active}
    for claim in (i for i in items if i.get("entity") == "CARD"):
        held = by_id.get(str(claim.get("binding_id")))
        assert held is not None, f"a card claim of no active binding: {claim.get('binding_id')}"


def real_names(stack: LocalStack) -> None:
    """One real-name record per account, one account per verified identity: each identity claim's owner holds the
    record of the session that claimed it, and a user has at most one VERIFIED session."""
    items = scan(stack, stack.template.physical_name("RealNameTable"))
    records = {str(i["pk"]).removeprefix("REALNAME#") for i in items if str(i["pk"]).startswith("REALNAME#")}
    for claim in (i for i in items if str(i["pk"]).startswith("IDCLAIM#")):
        assert claim["owner"] in records, f"an identity claimed without its real-name record: {claim['owner']}"
    verified = Counter(str(i["user_id"]) for i in items
                       if str(i["pk"]).startswith("SESSION#") and i.get("status") == "VERIFIED")
    assert all(n == 1 for n in verified.values()), "a user verified by two sessions"
    assert set(verified) <= records, "a VERIFIED session without the account's real-name record"


def events(stack: LocalStack) -> None:
    ledger = scan(stack, "LedgerTable")
    records = {str(i["transaction_id"]) for i in ledger if i.get("entity") == "TRANSACTION"}
    outbox = Counter(json.loads(str(i["detail"]))["transaction_id"] for i in ledger
                     if i.get("entity") == "OUTBOX" and i.get("detail_type") == "TransferCompleted")
    assert set(outbox) == records, "a ledger transaction without its event, or an event without its transaction"
    assert set(outbox.values()) <= {1}, "a ledger transaction wrote its event twice"
    campaign_events(scan(stack, "CampaignsTable"))
    proxy_events(scan(stack, "ProxyOrdersTable"))
    group_events(scan(stack, "GroupsTable"))
    binding_events(scan(stack, "BindingsTable"), scan(stack, "PartnersTable"))
    for mapping in ("PublishLedgerEventsFunctionLedgerOutbox", "PublishCampaignEventsFunctionCampaignsOutbox",
                    "PublishProxyEventsFunctionProxyOutbox", "PublishGroupEventsFunctionGroupsOutbox",
                    "PublishBindingEventsFunctionBindingOutbox"):
        failed = stack.streams.get(mapping).stats.batches_failed_over
        assert failed == 0, f"{failed} outbox batch(es) went to {mapping}'s DLQ: events not published"


BINDING_LEVEL = frozenset({"BindingActivated", "BindingUnbound", "BindingFirstUseCleared"})  # about a binding


def binding_events(items: list[dict[str, Any]], partners: list[dict[str, Any]]) -> None:
    """Each binding request, binding and partner change wrote exactly its one event, in its own transaction: one
    ``BindingRequested`` per request, ``BindingAccountRegistered`` per account it opened, ``BindingConfirmed`` per
    confirmed binding, ``BindingBound`` per BOUND and ``BindingFailed`` per FAILED request, ``BindingActivated`` /
    ``BindingUnbound`` / ``BindingFirstUseCleared`` per binding that was activated / unbound / first used, and per
    partner one ``PartnerCreated`` plus one event per later version."""
    got: dict[str, Counter[str]] = defaultdict(Counter)
    for i in items:
        if i.get("entity") == "OUTBOX":
            kind, d = str(i["detail_type"]), json.loads(str(i["detail"]))
            about = d["binding_id"] if kind in BINDING_LEVEL else d.get("binding_request_id") or d["partner_id"]
            got[kind][str(about)] += 1
    requests = [i for i in items if i.get("entity") == "REQUEST"]
    bindings = [i for i in items if i.get("entity") == "BINDING"]

    def ids(rows: list[dict[str, Any]], key: str) -> Counter[str]:
        return Counter(str(r[key]) for r in rows)

    expected = {
        "BindingRequested": ids(requests, "binding_request_id"),
        "BindingAccountRegistered": ids([r for r in requests if r.get("created_account") and r.get("account_id")],
                                        "binding_request_id"),
        "BindingConfirmed": ids([r for r in requests if r.get("binding_id")], "binding_request_id"),
        "BindingBound": ids([r for r in requests if r["status"] == "BOUND"], "binding_request_id"),
        "BindingFailed": ids([r for r in requests if r["status"] == "FAILED"], "binding_request_id"),
        "BindingActivated": ids([b for b in bindings if b.get("activated")], "binding_id"),
        "BindingUnbound": ids([b for b in bindings if b["status"] == "UNBOUND"], "binding_id"),
        "BindingFirstUseCleared": ids([b for b in bindings if b.get("first_use_cleared_at")], "binding_id"),
        "PartnerCreated": ids([p for p in partners if p.get("entity") == "PARTNER"], "partner_id"),
    }
    for detail_type, want in expected.items():
        have = got.get(detail_type, Counter())
        assert have == want, f"{detail_type}: events {dict(have - want)} without their change, changes " \
                             f"{dict(want - have)} without their event (or written twice)"
    awaited = got.get("BindingAwaitingBank", Counter())
    assert set(awaited.values()) <= {1} and all(
        r["status"] != "REGISTERING" for r in requests if str(r["binding_request_id"]) in awaited)
    assert all(str(r["binding_request_id"]) in awaited for r in requests
               if r["status"] in ("AWAITING_BANK", "BOUND")), "a request waited for its bank without its event"
    later = sum((got.get(t, Counter()) for t in ("PartnerKeyRotated", "PartnerSuspended", "PartnerReinstated")),
                Counter())
    assert later == Counter({str(p["partner_id"]): int(p["version"]) - 1 for p in partners
                             if p.get("entity") == "PARTNER" and int(p["version"]) > 1}), \
        "a partner change without its event, or written twice"



def group_events(items: list[dict[str, Any]]) -> None:
    """Each group has its one ``GroupCreated``, and joins minus leaves is its member count less its key user."""
    outbox = [(str(i["detail_type"]), json.loads(str(i["detail"]))) for i in items if i.get("entity") == "OUTBOX"]
    groups = {str(i["group_id"]): int(i["member_count"]) for i in items if i.get("entity") == "GROUP"}
    created = Counter(d["group_id"] for t, d in outbox if t == "GroupCreated")
    assert created == Counter(groups.keys()), "a group without its GroupCreated event, or with two"
    net = Counter({g: 0 for g in groups})
    for t, d in outbox:
        net[d["group_id"]] += {"GroupJoined": 1, "GroupLeft": -1}.get(t, 0)
    assert all(net[g] == n - 1 for g, n in groups.items()), \
        f"groups whose join/leave events disagree with their member count: {dict(net)} vs {groups}"


def proxy_events(items: list[dict[str, Any]]) -> None:
    """Each version of an order has exactly its one event (created is version 1; every transition, the reversal
    request included, adds one), and each rejected reversal its one ``ProxyReversalRejected``."""
    outbox = [(str(i["detail_type"]), json.loads(str(i["detail"]))) for i in items if i.get("entity") == "OUTBOX"]
    per_order = Counter(d["order_id"] for t, d in outbox if t.startswith("ProxyOrder") or t == "ProxyReversalRequested")
    versions = {str(i["order_id"]): int(i["version"]) for i in items if str(i["pk"]).startswith("ORDER#")}
    assert dict(per_order) == versions, f"orders whose events disagree with their versions: " \
        f"{ {o: (per_order.get(o, 0), v) for o, v in versions.items() if per_order.get(o, 0) != v} }"
    rejected = Counter(d["request_id"] for t, d in outbox if t == "ProxyReversalRejected")
    assert rejected == Counter(str(i["request_id"]) for i in items
                               if str(i["pk"]).startswith("REVERSAL#") and i.get("status") == "REJECTED")


def campaign_events(items: list[dict[str, Any]]) -> None:
    """Each campaign change wrote exactly its one event: the change and its event commit together or not at all."""
    events: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    for i in items:
        if i.get("entity") == "OUTBOX":
            d = json.loads(str(i["detail"]))
            key = {"VoucherClaimed": ("voucher_id", "holder"), "KeyUserVoucherClaimed": ("voucher_id", "holder"),
                   "VoucherPassed": ("voucher_id", "donor"), "InteractionRecorded": ("campaign_id", "interaction_id"),
                   "PrizePaid": ("transaction_id",)}.get(str(i["detail_type"]), ("campaign_id",))
            events[str(i["detail_type"])][tuple(str(d[k]) for k in key)] += 1
    audit = [i for i in items if i.get("entity") == "VOUCHER_AUDIT"]
    expected = {
        "VoucherClaimed": Counter((str(a["voucher_id"]), str(a["to"])) for a in audit
                                  if a["action"] in ("ISSUER", "FROM_POOL")),
        "KeyUserVoucherClaimed": Counter((str(a["voucher_id"]), str(a["to"])) for a in audit
                                         if a["action"] == "KEY_USER"),
        "VoucherPassed": Counter((str(a["voucher_id"]), str(a["donor"])) for a in audit if a["action"] == "PASSED"),
        "InteractionRecorded": Counter((str(i["pk"]).split("#")[1], str(i["pk"]).split("#", 3)[3]) for i in items
                                       if i.get("entity") == "INTERACTION"),
        "CampaignCreated": Counter((str(i["campaign_id"]),) for i in items if i.get("entity") == "CAMPAIGN"),
        "DrawTallied": Counter((str(i["pk"])[2:],) for i in items if i.get("entity") == "DRAW_TALLY"),
        "PrizePaid": Counter((str(i["transaction_id"]),) for i in items if i.get("entity") == "PAYMENT"),
    }
    for detail_type, want in expected.items():
        got = events.get(detail_type, Counter())
        assert got == want, f"{detail_type}: events {dict(got - want)} without their change, changes " \
                            f"{dict(want - got)} without their event (or written twice)"


CHECKS = {"money": money, "vouchers": vouchers, "events": events, "idempotency": idempotency, "bindings": bindings,
          "real_names": real_names}


def check_all(stack: LocalStack, skip: tuple[str, ...] = ()) -> None:
    stack.drain(timeout=120)
    for name, check in CHECKS.items():
        if name not in skip:
            check(stack)
