"""Drivers for the crash and fault tests: a use case runs once, may die at an AWS call, and the world recovers.

A ``UseCase`` (registered in ``tests/reliability/usecases.py``) prepares a fresh run of itself on the shared
stack (its own users and objects, so runs never interfere) and returns a ``Run``:

* ``act()``: the use case as its caller starts it (an HTTP request, a step invocation, a stream batch);
* ``recover()``: what the real world does next, until the use case is finished: the client retries with the
  same ``Idempotency-Key`` (after the crashed request's in-progress record expired: 409 ``REQUEST_IN_PROGRESS``
  before), Step Functions retries the step with the same input, Lambda redelivers the stream batch or the
  asynchronous event;
* ``check()``: it ended completed (or compensated), its effect applied once.

Then ``invariants.check_all`` checks the whole platform.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_stack import LocalStack
from local_stack.faults import CallCounter, CrashAt, FunctionCrashed, intercept
from tests.conftest import Api, Reply

# A crashed request's in-progress idempotency record expires when its Lambda would have timed out; the tests
# shorten the watched functions' timeout to this (seconds), so a retry crosses it without a production wait.
CRASH_TIMEOUT_S = 0.6
MAX_RECOVERY_ATTEMPTS = 8
GAPS: Counter[str] = Counter()  # retries answered with a conflict instead of the first answer (known gap)


class Run(Protocol):
    def act(self) -> None: ...
    def recover(self) -> None: ...
    def check(self) -> None: ...


@dataclass(frozen=True)
class UseCase:
    name: str
    functions: tuple[str, ...]
    """The functions whose AWS calls are counted and crashed (the use case's own handlers)."""
    prepare: Callable[[World], Run]
    long: bool = False
    """Many calls: the default run takes a seeded sample of crash points (every one under ``make stress``)."""
    skip_checks: tuple[str, ...] = ()


@dataclass
class World:
    stack: LocalStack
    api: Api
    cache: dict[str, Any] = field(default_factory=dict)

    def admin(self) -> str:
        return self.api.token("ops-admin", "admin")


@dataclass
class ApiRun:
    """One HTTP request of a route with an ``Idempotency-Key``; retried like a client would."""

    world: World
    method: str
    path: str
    body: Any
    token: str
    expect: tuple[int, ...]
    key: str | None = None
    after: Callable[[Reply], None] = lambda reply: None
    conflicts_after_commit: tuple[str, ...] = ()
    """Known gap (docs/reliability.md): after a crash between the commit and the idempotency record's completion,
    the retry re-runs the route, which finds its own change and answers a 4xx (409, 404) with one of these codes
    instead of the first answer (the §4 routes no longer do: they answer their first answer). Accepted
    only when the stored state shows the effect applied exactly once (``after``)."""
    replies: list[Reply] = field(default_factory=list)
    headers: dict[str, str] | None = None  # e.g. X-Verification-Token, sent with every try

    def send(self) -> Reply:
        reply = self.world.api.call(self.method, self.path, self.body, token=self.token, key=self.key,
                                    headers=self.headers)
        self.replies.append(reply)
        return reply

    def act(self) -> None:
        self.send()

    def recover(self) -> None:
        for _ in range(MAX_RECOVERY_ATTEMPTS):
            last = self.replies[-1]
            if last.status not in (502, 503) and last.code != "REQUEST_IN_PROGRESS":
                return
            if last.code == "REQUEST_IN_PROGRESS":
                time.sleep(CRASH_TIMEOUT_S)  # the crashed attempt's record expires with its Lambda's timeout
            self.send()
        raise AssertionError(f"{self.method} {self.path} never completed: {[r.status for r in self.replies]}")

    def check(self) -> None:
        final = self.replies[-1]
        if 400 <= final.status < 500 and final.code in self.conflicts_after_commit and len(self.replies) > 1:
            GAPS[f"{self.method} {self.path.split('/')[1]} -> {final.status} {final.code}"] += 1
        else:
            assert final.status in self.expect, (self.method, self.path, final.status, final.body)
        self.after(final)


@dataclass
class InvokeRun:
    """A function invoked with one event (a step, a schedule, an event rule, a stream batch), re-invoked with
    the same event after a crash, as Step Functions' retry, the scheduler's retry or Lambda's redelivery do."""

    world: World
    function: str
    event: Any
    done: Callable[[Any], None] = lambda result: None
    results: list[Any] = field(default_factory=list)
    crashed: int = 0

    def invoke(self) -> None:
        try:
            self.results.append(self.world.stack.invoke(self.function, self.event))
        except FunctionCrashed:
            self.crashed += 1

    def act(self) -> None:
        self.invoke()

    def recover(self) -> None:
        for _ in range(MAX_RECOVERY_ATTEMPTS):
            if self.results:
                return
            self.invoke()
        raise AssertionError(f"{self.function} never completed")

    def check(self) -> None:
        self.done(self.results[-1])


def count_calls(world: World, case: UseCase) -> int:
    """Run the use case once without a crash; the number of AWS calls its functions made."""
    run = case.prepare(world)
    with intercept(CallCounter(functions=case.functions)) as counter:
        run.act()
        run.recover()
    run.check()
    world.stack.drain(timeout=120)
    return counter.count  # type: ignore[attr-defined, no-any-return]


def crash_points(calls: int, long: bool, exhaustive: bool, seed: int) -> list[int]:
    """Every k for a short use case (or under ``make stress``); a seeded sample of 6 (first and last included)
    for a long one."""
    every = list(range(1, calls + 1))
    if exhaustive or not long or calls <= 6:
        return every
    rng = random.Random(seed)
    return sorted({1, calls, *rng.sample(every[1:-1], 4)})


def run_with_crash(world: World, case: UseCase, k: int, when: str) -> bool:
    """Prepare, act with a crash at call ``k`` (``when``), recover, check the use case: whether it crashed."""
    run = case.prepare(world)
    registry = world.stack.registry
    saved = dict(registry.timeout_overrides)
    registry.timeout_overrides.update({f: CRASH_TIMEOUT_S for f in case.functions})
    try:
        with intercept(CrashAt(k, when, functions=case.functions)) as crash:  # one crash, at most
            run.act()
            run.recover()  # (a workflow's steps run while the test waits for it)
    finally:
        registry.timeout_overrides.clear()
        registry.timeout_overrides.update(saved)
    run.check()
    return crash.crashed is not None  # type: ignore[attr-defined]
