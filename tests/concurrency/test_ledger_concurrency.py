"""Ledger invariants under concurrency, through the service, against the serialized emulator.

Σ of all balances (settlement included) never changes, no customer balance is
ever negative, and every transaction id is applied at most once, even when the
same id is submitted by several workers at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from local_stack import LocalStack
from shared.errors import TemporarilyUnavailable
from shared.ledger.errors import InsufficientFunds
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import AccountService, LedgerService, settlement_account_id
from shared.ledger.settings import LedgerSettings
from shared.types import Money

ACCOUNTS = 6
INITIAL = 5_000


def balances(stack: LocalStack) -> dict[str, int]:
    ddb = stack.client("dynamodb")
    items = ddb.scan(TableName="AccountsTable", FilterExpression="entity = :a",
                     ExpressionAttributeValues={":a": {"S": "ACCOUNT"}})["Items"]
    return {i["account_id"]["S"]: int(i["balance"]["N"]) for i in items}


def run_random_transfers(stack: LocalStack, transfers: int, workers: int, seed: int,  # noqa: C901 - one randomized worker loop with its bookkeeping
                         during: AbstractContextManager[Any] | None = None, client_retries: int = 0) -> None:
    """``during`` wraps the concurrent phase (seeded faults: tests/reliability/test_fault_injection.py); a transfer
    the service gives up on (503 ``TemporarilyUnavailable``, an AWS error) is retried by the "client" with the
    same transaction id up to ``client_retries`` times."""
    settings = LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable")
    ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable"), settings)
    accounts = AccountService(ledger)
    ids = []
    for i in range(ACCOUNTS):
        acct = accounts.register(f"conc-{i}")
        accounts.deposit("admin", acct.account_id, Money(amount=INITIAL, currency="CNY"), f"seed-{i}")
        ids.append(acct.account_id)
    settlement = settlement_account_id("CNY")
    start = balances(stack)
    assert sum(start.values()) == 0 and start[settlement] == -ACCOUNTS * INITIAL

    # Plan: random transfers; ~10% reuse an earlier transaction id with the same effect (duplicate submission).
    rng = random.Random(seed)
    plan: list[tuple[str, str, str, int]] = []
    for n in range(transfers):
        if plan and rng.random() < 0.1:
            plan.append(rng.choice(plan))
            continue
        src, dst = rng.sample(ids, 2)
        plan.append((f"conc-tx-{n}", src, dst, rng.randint(1, 1_500)))
    rng.shuffle(plan)

    applied: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    negatives: list[dict[str, int]] = []
    done = threading.Event()

    def monitor() -> None:  # samples balances throughout the run
        while not done.is_set():
            snap = balances(stack)
            if any(v < 0 for k, v in snap.items() if k != settlement) or sum(snap.values()) != 0:
                negatives.append(snap)
            time.sleep(0.05)

    def work(step: tuple[str, str, str, int]) -> None:
        tx_id, src, dst, amount = step
        for attempt in range(client_retries + 1):
            try:
                tx = ledger.transfer(tx_id, src, dst, Money(amount=amount, currency="CNY"), "TEST")
                with lock:
                    applied[tx.transaction_id] += 1
                return
            except InsufficientFunds:
                with lock:
                    refused[tx_id] += 1
                return
            except (TemporarilyUnavailable, ClientError, BotoCoreError):
                if attempt == client_retries:
                    raise

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    with during or nullcontext(), ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, plan))
    done.set()
    watcher.join()

    end = balances(stack)
    assert sum(end.values()) == 0, "money was created or destroyed"
    assert all(v >= 0 for k, v in end.items() if k != settlement), end
    assert negatives == [], "a sampled state broke an invariant"

    # Every transaction id is recorded at most once, with exactly two entries, and entries explain balances.
    ddb = stack.client("dynamodb")
    items: list[dict] = []
    kwargs: dict = {"TableName": "LedgerTable"}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    tx_records = Counter(i["transaction_id"]["S"] for i in items if i["entity"]["S"] == "TRANSACTION")
    assert max(tx_records.values()) == 1
    entry_count = Counter(i["transaction_id"]["S"] for i in items if i["entity"]["S"] == "ENTRY")
    assert set(entry_count.values()) == {2}
    assert set(entry_count) == set(tx_records)
    conc = {t for t in tx_records if t.startswith("conc-tx-")}
    assert conc == set(applied)  # everything reported applied is recorded, nothing else is
    assert not (set(refused) & {t for t in conc if applied[t] == 0})
    for account_id, balance in end.items():
        net = 0
        for i in items:
            if i["entity"]["S"] == "ENTRY" and i["account_id"]["S"] == account_id:
                amount = int(i["amount"]["N"])
                net += amount if i["direction"]["S"] == "CREDIT" else -amount
        assert net == balance, account_id
    assert len(applied) > transfers // 4  # the run really moved money


def test_ledger_invariants_32_workers_2000_transfers(clean_stack: LocalStack) -> None:
    run_random_transfers(clean_stack, transfers=2_000, workers=32, seed=1)


@pytest.mark.stress
def test_ledger_invariants_stress_10000_transfers(clean_stack: LocalStack) -> None:
    run_random_transfers(clean_stack, transfers=10_000, workers=64, seed=2)
