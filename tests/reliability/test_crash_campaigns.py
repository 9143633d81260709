"""Crash at every AWS call: campaigns, draws and groups (see ``crash.py``)."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_everywhere, names
from tests.reliability.harness import World

CAPABILITY = ("claim", "pass", "key-user claim", "interaction", "campaign ", "draw ", "group ")


@pytest.mark.parametrize("name", names(CAPABILITY, long=None, default=True))
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)


@pytest.mark.stress
@pytest.mark.parametrize("name", names(CAPABILITY, long=None, default=False))
def test_crash_at_every_call_exhaustive(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
