"""Campaign benchmarks on the embedded emulator (SPEC §2, issue 3).

1. **DynamoDB requests per operation**, counted with a botocore ``before-call`` hook on the client the
   stores use: interaction, claim (issuer path and pool path), pass. Goal: claim <= 3.
2. **Claims per second** through ``CampaignService.claim`` with ``BENCH_THREADS`` workers (default 16), and
   in the same run the emulator's bare write rate (``PutItem`` of one small item, same workers, same count):
   the ratio says how much of the emulator's capacity one claim costs (a claim is 2-3 requests).
   Then **claims per second from the pool**: ``BENCH_POOL`` vouchers (default 800) are issued to donors and
   passed on, one at a time in a known order (not timed), then as many claims by fresh users drain the pool with
   the same workers (timed). Printed with how well the drain followed the pool's age: the share of pairs of
   same-kind pooled vouchers that were claimed newer-before-older (0 = oldest first, ~0.5 = random order).
3. **A draw over 20,000 holders** (``BENCH_HOLDERS``): holders' states and the winners' vouchers are seeded
   with ``BatchWriteItem`` (seeding is not timed), then the real ``CampaignDraw`` state machine runs on the
   local stack (freeze, consume per bucket, tally, pay per bucket, settle) and is timed end to end; the
   invariant pot = paid + remainder is checked.

Run: ``make bench NAME=campaigns`` (about 2-3 minutes).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from local_stack import LocalStack
from shared.campaigns.models import KindWeight, Limits
from shared.campaigns.repository import DynamoCampaignStore
from shared.campaigns.services import CampaignService, ClaimService, PassService, campaign_account_id
from shared.clock import iso
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import LedgerService
from shared.ledger.settings import LedgerSettings
from shared.types import Money

KINDS = [KindWeight(kind="FU", weight=10), KindWeight(kind="LU", weight=5), KindWeight(kind="SHOU", weight=2)]
TABLE = "CampaignsTable"


class NullPublisher:
    def publish(self, detail_type: str, detail: Any) -> None:
        pass


class Counted:
    """A DynamoDB client whose requests are counted by operation name."""

    def __init__(self, endpoint: str, threads: int) -> None:
        self.client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106
                                   config=Config(max_pool_connections=threads * 2 + 4))
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.calls[model.name] += 1

    def measure(self) -> Counter[str]:
        with self.lock:
            snapshot = Counter(self.calls)
            self.calls.clear()
        return snapshot


class Services:
    """The campaign services the benchmark drives, wired as ``shared.campaigns.wiring`` wires them."""

    def __init__(self, client: Any) -> None:
        ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable", client),
                               LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable"))
        store = DynamoCampaignStore(TABLE, client)
        self.campaigns = CampaignService(store, ledger, NullPublisher())
        claims = ClaimService(self.campaigns, store, NullPublisher())
        self.create, self.campaign = self.campaigns.create, self.campaigns.campaign
        self.record_interaction, self.claim = claims.record_interaction, claims.claim
        self.pass_on = PassService(self.campaigns, store, NullPublisher()).pass_on


def build(client: Any) -> Services:
    return Services(client)


def new_campaign(service: Services, limits: Limits | None = None) -> str:
    campaign = service.create("bench-admin", uuid.uuid4().hex, "bench", KINDS, Money(amount=10_000_000, currency="CNY"),
                              datetime.now(UTC) + timedelta(days=1), ["SCAN"],
                              limits or Limits(claims_per_day=10_000, passes_per_day=10_000))
    return campaign.campaign_id


def requests_per_operation(counted: Counted, n: int = 40) -> dict[str, float]:
    service = build(counted.client)
    cid = new_campaign(service)
    service.claim  # noqa: B018 - the campaign configuration is cached by the first claim, as in a warm container
    out: dict[str, float] = {}
    counted.measure()
    for i in range(n):
        service.record_interaction(cid, f"p{i % 8}", "SCAN", f"bench-{i}")
    out["interaction"] = sum(counted.measure().values()) / n
    service.claim(cid, "p0")  # warm the configuration cache
    counted.measure()
    held = []
    for i in range(1, n // 2):
        held.append((f"p{i % 8}", service.claim(cid, f"p{i % 8}").voucher_id))
    out["claim (pool empty: issued)"] = sum(counted.measure().values()) / len(held)
    for user, vid in held[:10]:
        service.pass_on(cid, user, vid)
    out["pass"] = sum(counted.measure().values()) / 10
    for i in range(10):
        service.claim(cid, f"p{(i + 3) % 8}")
    out["claim (from the pool)"] = sum(counted.measure().values()) / 10
    return out


def claims_per_second(stack: LocalStack, counted: Counted, threads: int, n: int) -> tuple[float, float, float]:
    service = build(counted.client)
    cid = new_campaign(service)
    users = [f"c{i:04d}" for i in range(threads * 16)]
    per_user = n // len(users) + 2
    seed = [{"PutRequest": {"Item": {
        "pk": {"S": f"C#{cid}#U#{u}"}, "sk": {"S": "#STATE"}, "user_id": {"S": u},
        "rights_granted": {"N": str(per_user)}, "entity": {"S": "USER_STATE"}}}} for u in users]
    for j in range(0, len(seed), 25):
        counted.client.batch_write_item(RequestItems={TABLE: seed[j:j + 25]})
    service.claim(cid, users[0])
    plan = [users[i % len(users)] for i in range(n)]

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda u: service.claim(cid, u), plan))
    claims = n / (time.perf_counter() - t)

    client = counted.client
    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: client.put_item(TableName="IdempotencyTable",
                                                Item={"id": {"S": f"bare-{i}"}, "v": {"N": "1"}}), range(n)))
    bare = n / (time.perf_counter() - t)

    # The same two requests an issued claim makes (consistent BatchGetItem of the state and the 8 shard gates,
    # TransactWriteItems of 5 items), without any service logic: what the emulator itself costs per claim.
    shards = [{"pk": {"S": f"C#{cid}#P#{s}"}, "sk": {"S": "#SHARD"}} for s in range(8)]

    def bare_claim(i: int) -> None:
        user = f"bare{i}"
        client.batch_get_item(RequestItems={TABLE: {"ConsistentRead": True, "Keys": [
            {"pk": {"S": f"C#{cid}#U#{user}"}, "sk": {"S": "#STATE"}}, *shards]}})
        vid = uuid.uuid4().hex
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": shards[i % 8], "UpdateExpression": "SET issued = issued + :one",
                        "ConditionExpression": "#st = :open", "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":open": {"S": "OPEN"}}}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": f"C#{cid}#U#{user}"}, "sk": {"S": "#STATE"}},
                        "UpdateExpression": "SET version = :v, rights_used = :v, held = :h",
                        "ConditionExpression": "attribute_not_exists(version)",
                        "ExpressionAttributeValues": {":v": {"N": "1"}, ":h": {"M": {"FU": {"N": "1"}}}}}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"C#{cid}#H#0"}, "sk": {"S": user}}}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"C#{cid}#U#{user}"}, "sk": {"S": f"V#{vid}"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"C#{cid}#V#{vid}"}, "sk": {"S": "audit"}}}},
        ])

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(bare_claim, range(n)))
    bare_claims = n / (time.perf_counter() - t)
    return claims, bare, bare_claims


def pool_claims_per_second(counted: Counted, threads: int, n: int) -> tuple[float, int, float]:
    """(claims/s from the pool, claims that came from the pool, inversion rate of the drain order per kind)."""
    service = build(counted.client)
    cid = new_campaign(service)
    donors = [f"d{i:03d}" for i in range(threads)]
    claimants = [f"r{i:04d}" for i in range(threads * 16)]
    per_donor = n // len(donors) + 1
    seed = [{"PutRequest": {"Item": {
        "pk": {"S": f"C#{cid}#U#{u}"}, "sk": {"S": "#STATE"}, "user_id": {"S": u},
        "rights_granted": {"N": str(per_donor if u.startswith("d") else n)}, "entity": {"S": "USER_STATE"}}}}
        for u in donors + claimants]
    for j in range(0, len(seed), 25):
        counted.client.batch_write_item(RequestItems={TABLE: seed[j:j + 25]})
    with ThreadPoolExecutor(threads) as pool:  # not timed: the donors' vouchers
        held = [v for vs in pool.map(lambda d: [(d, service.claim(cid, d)) for _ in range(per_donor)], donors)
                for v in vs][:n]
    age: dict[str, tuple[str, int]] = {}
    for rank, (donor, voucher) in enumerate(held):  # passed one at a time: a strict age order
        service.pass_on(cid, donor, voucher.voucher_id)
        age[voucher.voucher_id] = (voucher.kind, rank)
    plan = [claimants[i % len(claimants)] for i in range(n)]
    order: list[str] = []
    lock = threading.Lock()

    def claim(user: str) -> None:
        voucher = service.claim(cid, user)
        with lock:
            order.append(voucher.voucher_id)

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(claim, plan))
    rate = n / (time.perf_counter() - t)
    drained: dict[str, list[int]] = {}
    for vid in order:
        if vid in age:
            drained.setdefault(age[vid][0], []).append(age[vid][1])
    pairs = inverted = 0
    for ranks in drained.values():
        for i, a in enumerate(ranks):
            for b in ranks[i + 1:]:
                pairs += 1
                inverted += a > b
    return rate, sum(len(r) for r in drained.values()), inverted / pairs if pairs else 0.0


def seed_holders(stack: LocalStack, client: Any, service: Services, holders: int,
                 winners: int) -> tuple[str, str]:
    cid = new_campaign(service)
    campaign = service.campaign(cid)
    kinds = campaign.kind_names
    rng = random.Random(3)
    now = iso(datetime.now(UTC))
    items: list[dict[str, Any]] = []
    for i in range(holders):
        user = f"h{i:06d}"
        win = i < winners
        held = {k: 1 if win else rng.choice([0, 1]) for k in kinds}
        if not win:
            held[rng.choice(kinds)] = 0  # never a complete set
        items.append({"pk": {"S": f"C#{cid}#U#{user}"}, "sk": {"S": "#STATE"}, "user_id": {"S": user},
                      "version": {"N": "1"}, "rights_granted": {"N": "3"}, "rights_used": {"N": "3"},
                      "held": {"M": {k: {"N": str(v)} for k, v in held.items()}}, "sets": {"N": "0"},
                      "entity": {"S": "USER_STATE"}})
        items.append({"pk": {"S": f"C#{cid}#H#{campaign.bucket_of(user)}"}, "sk": {"S": user},
                      "user_id": {"S": user}, "entity": {"S": "HOLDER"}})
        if win:
            for k in kinds:
                vid = f"v_{uuid.uuid4().hex}"
                items.append({"pk": {"S": f"C#{cid}#U#{user}"}, "sk": {"S": f"V#{vid}"}, "voucher_id": {"S": vid},
                              "campaign_id": {"S": cid}, "kind": {"S": k}, "status": {"S": "HELD"},
                              "source": {"S": "ISSUER"}, "holder": {"S": user}, "obtained_at": {"S": now},
                              "entity": {"S": "VOUCHER"}})
    for j in range(0, len(items), 25):
        client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": it}} for it in items[j:j + 25]]})
    return cid, campaign.account_id


def balance(client: Any, account_id: str) -> int:
    item = client.get_item(TableName="AccountsTable", Key={"pk": {"S": f"ACCOUNT#{account_id}"}})["Item"]
    return int(item["balance"]["N"])


def main() -> None:
    threads = int(os.environ.get("BENCH_THREADS", "16"))
    n_claims = int(os.environ.get("BENCH_CLAIMS", "800"))
    n_pool = int(os.environ.get("BENCH_POOL", "800"))
    holders = int(os.environ.get("BENCH_HOLDERS", "20000"))
    winners = int(os.environ.get("BENCH_WINNERS", "400"))
    with LocalStack(api_port=None, time_scale=0.01) as stack:
        counted = Counted(stack.emulator.endpoint, threads)

        print("DynamoDB requests per operation (emulator, warm container):")
        for name, value in requests_per_operation(counted).items():
            print(f"  {name:<28} {value:5.2f}")

        claims, bare, bare_claims = claims_per_second(stack, counted, threads, n_claims)
        print(f"claims/s through the service:            {claims:8.1f}  ({threads} workers, {n_claims} claims)")
        print(f"bare PutItem/s, same run:                {bare:8.1f}  -> ratio {claims / bare:.2f}")
        print(f"bare claim-shaped request pairs/s (same): {bare_claims:8.1f}  -> ratio {claims / bare_claims:.2f}"
              f"  (BatchGetItem of 9 + TransactWriteItems of 5, no service logic)")
        pool_rate, from_pool, inversions = pool_claims_per_second(counted, threads, n_pool)
        print(f"claims/s draining the pool:              {pool_rate:8.1f}  ({threads} workers, {n_pool} claims, "
              f"{from_pool} from the pool) -> ratio {pool_rate / bare_claims:.2f} to the bare pairs")
        print(f"drain order: {inversions:.3f} of same-kind pairs claimed newer-before-older "
              f"(0 = oldest first, 0.5 = random)")

        stack.reset()
        service = build(stack.client("dynamodb"))
        t = time.perf_counter()
        cid, pot_account = seed_holders(stack, stack.client("dynamodb"), service, holders, winners)
        print(f"seeded {holders} holders ({winners} with a complete set) in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        run = stack.run_execution(stack.state_machine_arn("CampaignDrawStateMachine"), {"campaign_id": cid},
                                  timeout=1800)
        elapsed = time.perf_counter() - t
        remainder = balance(stack.client("dynamodb"), pot_account)
        share = 10_000_000 // winners
        print(f"draw over {holders} holders: {run['status']} in {elapsed:.1f}s "
              f"({winners} sets, share {share}, paid {share * winners}, remainder {remainder})")
        assert run["status"] == "SUCCEEDED", run
        assert share * winners + remainder == 10_000_000
        assert pot_account == campaign_account_id(cid)


if __name__ == "__main__":
    main()
