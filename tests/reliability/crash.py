"""Crash at every AWS call of every writing use case, then recover as the real world does; invariants hold.

For each registered use case (``usecases.REGISTRY``): count its functions' AWS calls on a clean run, then for
each crash point k (every k; a seeded sample for the long ones in the default run, every k under ``make stress``)
and each side of the call (``before`` it is sent, ``after`` it succeeded but before the response is seen) run
it again with the crash, recover (client retry with the same key after the in-progress expiry, step retry,
redelivery), and check the use case completed once and every platform invariant (``invariants.check_all``).
The test modules ``test_crash_*.py`` split the registry by capability (so xdist runs them side by side);
``test_registry.py`` checks that every use case is in exactly one of them.
"""

from __future__ import annotations

import os
import random

from local_stack.faults import CRASH_POINTS
from tests.reliability import invariants
from tests.reliability.harness import World, count_calls, crash_points, run_with_crash
from tests.reliability.usecases import REGISTRY

SEED = int(os.environ.get("RELIABILITY_SEED", "14"))
# The default run crashes these at every call (money and vouchers); every other use case runs under
# ``make stress`` (about 2 s per crash run on the emulator: all 30 use cases cost ~25 minutes of one core).
DEFAULT_RUN = ("transfer", "claim")


def names(prefixes: tuple[str, ...], long: bool | None, default: bool | None = None) -> list[str]:
    """Registered use cases whose name starts with one of ``prefixes`` (``long``: only the long ones;
    ``default``: only those of the default run, or only the others)."""
    return sorted(n for n, case in REGISTRY.items()
                  if n.startswith(prefixes) and (long is None or case.long == long)
                  and (default is None or (n in DEFAULT_RUN) == default))


def sampled_points(calls: int, sample: int, seed: int) -> list[tuple[int, str]]:
    """``sample`` (call, side) crash points of ``calls`` AWS calls, seeded (the default run's bounded share of a
    slow use case; ``make stress`` runs them all)."""
    every = [(k, when) for k in range(1, calls + 1) for when in CRASH_POINTS]
    return sorted(random.Random(seed).sample(every, min(sample, len(every))))


def crash_everywhere(world: World, name: str, exhaustive: bool, sample: int | None = None) -> tuple[int, int]:
    """Every crash point of ``name`` (``sample``: only that many, seeded); returns (AWS calls of a clean run,
    crash runs)."""
    case = REGISTRY[name]
    calls = count_calls(world, case)
    invariants.check_all(world.stack, case.skip_checks)
    assert calls > 0, f"{name}: its functions made no AWS call"
    runs = crashed = 0
    points = (sampled_points(calls, sample, SEED) if sample is not None
              else [(k, when) for k in crash_points(calls, case.long, exhaustive, SEED) for when in CRASH_POINTS])
    for k, when in points:
        try:
            crashed += run_with_crash(world, case, k, when)
            invariants.check_all(world.stack, case.skip_checks)
        except AssertionError as exc:
            raise AssertionError(f"{name}: crash {when} call {k} of {calls} (seed {SEED}): {exc}") from exc
        runs += 1
    print(f"crash points: {name}: {calls} AWS calls, {runs} crash runs, {crashed} crashed (seed {SEED})")
    assert crashed >= runs // 2, f"{name}: most crash points never crashed ({crashed}/{runs})"
    return calls, runs
