"""Crash at every AWS call: bank binding's admin partner routes (create, key rotation, suspension,
reinstatement), the signed partner routes (request, read, confirmation, rejection), the user's unbind and the
Binding saga's steps, each crashed inside a real execution and retried by the state machine (see ``crash.py``)."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_everywhere, names
from tests.reliability.harness import World

CAPABILITY = ("binding ",)
KNOWN: dict[str, pytest.MarkDecorator] = {}
# The default run's bounded share (issue 14's time budget): a seeded sample of (call, side) crash points of the
# saga's steps and the routes added with them (a saga run drives a whole binding: ~1 s each); every point of
# every binding use case runs under ``make stress``.
DEFAULT_SAMPLE = {"binding saga await bank": 1, "binding rejection": 1}


@pytest.mark.parametrize("name", sorted(DEFAULT_SAMPLE))
def test_crash_at_sampled_calls(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=False, sample=DEFAULT_SAMPLE[name])


@pytest.mark.stress
@pytest.mark.parametrize("name", [pytest.param(n, marks=KNOWN.get(n, ())) for n in names(CAPABILITY, long=None)])
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
