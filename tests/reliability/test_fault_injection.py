"""Seeded fault injection (throttling, TransactionConflict, InternalServerError, timeouts after commit) at
p = 0.2 on the concurrent workloads that exist and on every registered writing use case; invariants hold,
retries are bounded and jittered, validation and authorization failures are never retried.

Every run prints its seed; ``RELIABILITY_SEED=<n> make stress`` (or ``pytest tests/reliability -k fault``)
re-runs one. Decisions come from ``random.Random(seed)`` in call order: a serial run (one use case, one
worker) reproduces exactly; a concurrent workload reproduces the same fault sequence, in the threads'
interleaving of that run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.retries import standard

from local_stack import LocalStack
from local_stack.faults import FAULT_KINDS, CallCounter, Interceptor, SeededFaults, _json_error, intercept
from shared.ledger.errors import InsufficientFunds
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import MAX_ATTEMPTS, AccountService, LedgerService
from shared.ledger.settings import LedgerSettings
from shared.types import Money
from tests.campaigns.test_concurrency import MIX, run_mixed
from tests.concurrency.test_ledger_concurrency import run_random_transfers
from tests.reliability import invariants
from tests.reliability.harness import CRASH_TIMEOUT_S, World
from tests.reliability.usecases import REGISTRY

SEED = int(os.environ.get("RELIABILITY_SEED", "20261129"))
P = 0.2
SDK_MAX_ATTEMPTS = 3  # shared/aws.py: standard retry mode


@contextmanager
def recorded_backoff() -> Iterator[list[float]]:
    """The SDK's back-off delays (its full-jitter exponential back-off), recorded."""
    delays: list[float] = []
    original = standard.ExponentialBackoff.delay_amount

    def record(self: Any, context: Any) -> float:
        delay: float = original(self, context)
        delays.append(delay)
        return delay

    standard.ExponentialBackoff.delay_amount = record  # type: ignore[method-assign]
    try:
        yield delays
    finally:
        standard.ExponentialBackoff.delay_amount = original  # type: ignore[method-assign]


def report(name: str, seed: int, faults: SeededFaults) -> None:
    print(f"fault injection: {name}: seed {seed}, {faults.attempts} attempts, {len(faults.log)} faults "
          f"{dict(faults.counts())} (re-run: RELIABILITY_SEED={seed})")


def assert_retries_bounded_and_jittered(counter: CallCounter, delays: list[float]) -> None:
    attempts = sum(counter.attempts.values())
    assert attempts <= SDK_MAX_ATTEMPTS * counter.count, "the SDK retried beyond its bound"
    assert delays, "no back-off happened: the faults were not retried"
    assert len({round(d, 6) for d in delays}) > len(delays) // 2, "back-off without jitter"
    assert all(0 <= d <= 20 for d in delays)


def test_ledger_workload_under_faults(clean_stack: LocalStack) -> None:
    faults = SeededFaults(seed=SEED, p=P, outside=True)
    counter = CallCounter(outside_functions=True, skip_operations=("Scan",))
    with recorded_backoff() as delays, intercept(counter):
        run_random_transfers(clean_stack, transfers=300, workers=16, seed=SEED % 1000,
                             during=intercept(faults), client_retries=5)
    report("ledger transfers", SEED, faults)
    assert set(faults.counts()) == set(FAULT_KINDS), faults.counts()
    assert_retries_bounded_and_jittered(counter, delays)


@pytest.mark.parametrize("operations", [pytest.param(150, id="150"),
                                        pytest.param(400, id="400", marks=pytest.mark.stress)])
def test_campaign_workload_under_faults(clean_stack: LocalStack, operations: int) -> None:
    faults = SeededFaults(seed=SEED + 1, p=P, outside=True)
    with recorded_backoff() as delays:
        claims = run_mixed(clean_stack, operations=operations, workers=16, users=40, weights=MIX, seed=SEED % 997,
                           during=intercept(faults), unavailable_share=0.2)
    report("campaign operations", SEED + 1, faults)
    assert claims > 0 and len(faults.log) > operations // 10 and delays


DEFAULT_RUN = ("transfer", "claim")  # the rest of the registry under ``make stress``


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=() if n in DEFAULT_RUN else pytest.mark.stress)
    for n in sorted(n for n, c in REGISTRY.items() if not c.long)])
def test_use_case_under_faults(world: World, name: str) -> None:
    case = REGISTRY[name]
    seed = SEED + sum(map(ord, name))
    for repeat in range(3):
        faults = SeededFaults(seed=seed + repeat, p=P, functions_=case.functions)
        run = case.prepare(world)
        # a timeout after the in-progress record's put leaves it in progress until the Lambda's timeout (shortened)
        world.stack.registry.timeout_overrides.update({f: CRASH_TIMEOUT_S for f in case.functions})
        try:
            with intercept(faults):
                run.act()
                run.recover()
        finally:
            world.stack.registry.timeout_overrides.clear()
        try:
            run.check()
            invariants.check_all(world.stack, case.skip_checks)
        except AssertionError as exc:
            raise AssertionError(f"{name} under faults, seed {seed + repeat}: {faults.log}: {exc}") from exc
        report(name, seed + repeat, faults)


class Refuse(Interceptor):
    """Every watched ``TransactWriteItems`` is refused with ``code`` (a validation or authorization failure)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(outside_functions=True)
        self.code, self.status = code, status

    def before_send(self, call: Any, request: Any) -> Any:
        if call.operation == "TransactWriteItems" and self.watches(call):
            return _json_error(self.status, self.code, "refused (injected)")
        return None


@pytest.mark.parametrize("code", ["ValidationException", "AccessDeniedException"])
def test_validation_and_authorization_failures_are_never_retried(clean_stack: LocalStack, code: str) -> None:
    ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable"),
                           LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable"))
    accounts = AccountService(ledger)
    a, b = accounts.register("fault-a"), accounts.register("fault-b")
    accounts.deposit("admin", a.account_id, Money(amount=1_000, currency="CNY"), "seed")
    counter = CallCounter(outside_functions=True)
    with intercept(counter), intercept(Refuse(code, 400)), pytest.raises(ClientError):
        ledger.transfer("never", a.account_id, b.account_id, Money(amount=10, currency="CNY"), "TEST")
    assert counter.attempts["TransactWriteItems"] == 1, counter.attempts
    # A business refusal (a failed balance condition) is not retried either: one attempt, one domain error.
    counter = CallCounter(outside_functions=True)
    with intercept(counter), pytest.raises(InsufficientFunds):
        ledger.transfer("too-much", a.account_id, b.account_id, Money(amount=5_000, currency="CNY"), "TEST")
    assert counter.attempts["TransactWriteItems"] == 1, counter.attempts


def test_contention_retries_are_bounded(clean_stack: LocalStack) -> None:
    ledger = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable"),
                           LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable"),
                           sleep=lambda s: None)
    accounts = AccountService(ledger)
    a, b = accounts.register("fault-c"), accounts.register("fault-d")
    accounts.deposit("admin", a.account_id, Money(amount=1_000, currency="CNY"), "seed")
    counter = CallCounter(outside_functions=True)
    always = SeededFaults(seed=1, p=1.0, kinds=("transaction_conflict",), outside=True)
    from shared.errors import TemporarilyUnavailable

    with intercept(counter), intercept(always), pytest.raises(TemporarilyUnavailable):
        ledger.transfer("contended", a.account_id, b.account_id, Money(amount=10, currency="CNY"), "TEST")
    assert counter.attempts["TransactWriteItems"] == MAX_ATTEMPTS, counter.attempts  # no unbounded loop
    invariants.money(clean_stack)
