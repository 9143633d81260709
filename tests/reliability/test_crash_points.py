"""Crash at every AWS call of every writing use case, then recover as the real world does; invariants hold.

For each registered use case (``usecases.REGISTRY``): count its functions' AWS calls on a clean run, then for
each crash point k (every k; a seeded sample for the long ones in the default run, every k under ``make stress``)
and each side of the call (``before`` it is sent, ``after`` it succeeded but before the response is seen) run
it again with the crash, recover (client retry with the same key after the in-progress expiry, step retry,
redelivery), and check the use case completed once and every platform invariant (``invariants.check_all``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local_stack import LocalStack
from local_stack.faults import CRASH_POINTS
from tests.conftest import Api
from tests.reliability import invariants
from tests.reliability.harness import World, count_calls, crash_points, run_with_crash
from tests.reliability.usecases import REGISTRY

SEED = int(os.environ.get("RELIABILITY_SEED", "14"))
FIGURES: dict[str, tuple[int, int]] = {}  # use case -> (calls, crash runs): printed for docs/reliability.md


@pytest.fixture
def world(clean_stack: LocalStack) -> Iterator[World]:
    with clean_stack.scheduler.paused():  # a sweep must not finish what the test crashed
        clean_stack.async_invoker.drain()
        yield World(clean_stack, Api(clean_stack))


def crash_everywhere(world: World, name: str, exhaustive: bool) -> None:
    case = REGISTRY[name]
    calls = count_calls(world, case)
    invariants.check_all(world.stack, case.skip_checks)
    assert calls > 0, f"{name}: its functions made no AWS call"
    runs = crashed = 0
    for k in crash_points(calls, case.long, exhaustive, SEED):
        for when in CRASH_POINTS:
            try:
                crashed += run_with_crash(world, case, k, when)
                invariants.check_all(world.stack, case.skip_checks)
            except AssertionError as exc:
                raise AssertionError(f"{name}: crash {when} call {k} of {calls} (seed {SEED}): {exc}") from exc
            runs += 1
    FIGURES[name] = (calls, runs)
    print(f"crash points: {name}: {calls} AWS calls, {runs} crash runs, {crashed} crashed (seed {SEED})")
    assert crashed >= runs // 2, f"{name}: most crash points never crashed ({crashed}/{runs})"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=False)


@pytest.mark.stress
@pytest.mark.parametrize("name", sorted(n for n, c in REGISTRY.items() if c.long))
def test_crash_at_every_call_exhaustive(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
