"""Crash at every AWS call: real-name's liveness challenge (see ``crash.py``)."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_everywhere, names
from tests.reliability.harness import World

CAPABILITY = ("realname ",)
KNOWN: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.stress
@pytest.mark.parametrize("name", [pytest.param(n, marks=KNOWN.get(n, ())) for n in names(CAPABILITY, long=None)])
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
