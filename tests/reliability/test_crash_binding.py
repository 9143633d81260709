"""Crash at every AWS call: bank binding's admin partner routes (create, key rotation, suspension,
reinstatement) (see ``crash.py``)."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_everywhere, names
from tests.reliability.harness import World

CAPABILITY = ("binding ",)
KNOWN: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.stress
@pytest.mark.parametrize("name", [pytest.param(n, marks=KNOWN.get(n, ())) for n in names(CAPABILITY, long=None)])
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
