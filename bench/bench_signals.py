"""Risk signals (issue 10): ledger stream projector throughput, profile read + feature build per scoring.

1. **Projector throughput**: on one ``LocalStack``, ``N`` P2P transfers between ``U`` users are committed
   through ``LedgerService`` while the projector's stream poller is paused; then the poller is released and
   timed until the stream is drained: customer ledger entries projected per second through the emulated
   stream (Lambda event shape, Powertools' ``BatchProcessor``, the exactly-once writes). **Baseline**, same
   run, same emulator: the bare DynamoDB calls the projection makes for the same number of entries (last-active
   update, contact read, the marker + counters transaction), issued directly by the store on fresh users.
   The ratio is what the stream mapping, the event parsing, the account lookups and the batch utility cost.
2. **Profile read + feature build per scoring**: ``SignalsService.profile`` (profile item + 90 day items +
   account + group reads on the emulator) and ``build_features``, median per call for a user with ~3 months of
   activity; the feature build alone for comparison.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.bench_api_latency import quiet_stdout
from local_stack import LocalStack
from shared.groups.repository import DynamoGroupStore
from shared.groups.service import GroupService
from shared.identity.features import build_features
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import AccountService, LedgerService
from shared.ledger.settings import LedgerSettings
from shared.signals.adapters import CidrReputation, GroupMemberships, LedgerAccounts
from shared.signals.fold import local_time
from shared.signals.models import Direction, LedgerFact
from shared.signals.repository import DynamoSignalsStore
from shared.signals.services import SignalsService
from shared.signals.settings import SignalsSettings
from tests.signals.history import write_history
from training.population import PERSONAS, sample_history

PROJECTOR = "LedgerProjectorFunction"


class _NoEvents:
    def publish(self, detail_type: str, detail: dict) -> None:  # type: ignore[type-arg]
        return None


def projector_throughput(stack: LocalStack, n: int, users: int) -> tuple[float, float]:
    ddb = stack.client("dynamodb")
    settings = LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable")
    ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable", ddb), settings)
    accounts = AccountService(ledger)
    ids = []
    for i in range(users):
        account = accounts.register(f"bench-{uuid.uuid4().hex[:6]}-{i}")
        ids.append(account.account_id)
    stack.drain_streams(timeout=60)
    for account_id in ids:  # fund everyone (projected before the timed part)
        ledger.issue(f"fund-{account_id}", account_id, _money(10_000_000), "bench")
    stack.drain_streams(timeout=120)
    poller = stack.streams.get(PROJECTOR)
    with poller.paused(timeout=60):
        for i in range(n):
            source, target = ids[i % users], ids[(i * 7 + 1) % users]
            if source == target:
                target = ids[(i + 1) % users]
            ledger.transfer(f"bench-tx-{uuid.uuid4().hex}", source, target, _money(100 + i % 900), "P2P_TRANSFER")
        started = time.perf_counter()
    stack.drain_streams(timeout=600)
    projected = (time.perf_counter() - started)
    stream_rate = 2 * n / projected  # both sides of each transfer are customer entries

    store = DynamoSignalsStore("SignalsTable", ddb)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(2 * n):
        user = f"bare-{i % users}"
        fact = LedgerFact(user_id=user, account_id=f"acc_bare{i % users}", entry_key=f"bare#{i}",
                          transaction_id=f"t{i}", type="P2P_TRANSFER", direction=Direction.OUT, amount=100 + i % 900,
                          counterparty_account_id=f"acc_bare{(i * 7 + 1) % users}", counterparty_is_customer=True,
                          at=now)
        store.touch_last_active(user, now)
        new = not store.contact_known(user, fact.counterparty_account_id)
        store.project_entry(fact, local=local_time(now, timedelta(hours=8)), spend=True, new_contact=new,
                            expires_after=timedelta(days=7))
    bare_rate = 2 * n / (time.perf_counter() - started)
    return stream_rate, bare_rate


def _money(amount: int):  # type: ignore[no-untyped-def]
    from shared.types import Money
    return Money(amount=amount, currency="CNY")


def scoring_read(stack: LocalStack, calls: int) -> tuple[float, float, int]:
    ddb = stack.client("dynamodb")
    ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable", ddb),
                           LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable"))
    sub = f"bench-reader-{uuid.uuid4().hex[:6]}"
    AccountService(ledger).register(sub)
    import numpy as np
    history = sample_history(PERSONAS["university_student"], np.random.default_rng(3), datetime.now(UTC))
    write_history(ddb, history, sub)
    reader = SignalsService(DynamoSignalsStore("SignalsTable", ddb), SignalsSettings(signals_table="SignalsTable"),
                            CidrReputation(), accounts=LedgerAccounts(ledger.store),
                            memberships=GroupMemberships(GroupService(DynamoGroupStore("GroupsTable", ddb),
                                                                      _NoEvents())))
    read, build = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        profile = reader.profile(sub)
        t1 = time.perf_counter()
        build_features(profile)
        t2 = time.perf_counter()
        read.append((t2 - t0) * 1000)
        build.append((t2 - t1) * 1e6)
    return statistics.median(read), statistics.median(build), len(history.entries)


def main(n: int = 200, users: int = 20, calls: int = 100) -> None:
    with quiet_stdout(), LocalStack(api_port=0, time_scale=0.001, schedules=False) as stack:
        stream_rate, bare_rate = projector_throughput(stack, n, users)
        read_ms, build_us, entries = scoring_read(stack, calls)
    print(f"projector through the stream  {stream_rate:8.1f} entries/s  ({2 * n} entries, {users} users)")
    print(f"bare DynamoDB projection      {bare_rate:8.1f} entries/s  (same calls, direct)")
    print(f"ratio stream/bare             {stream_rate / bare_rate:8.2f}")
    print(f"profile read + features       {read_ms:8.2f} ms/scoring p50  (user with {entries} entries, n={calls})")
    print(f"feature build alone           {build_us:8.1f} µs p50")


if __name__ == "__main__":
    main()
