"""Crash at every AWS call: risk-signal routes (sign-in, devices, watch-list tags) (see ``crash.py``)."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_everywhere, names
from tests.reliability.harness import World

CAPABILITY = ("signals ",)


# Found by this test and fixed (docs/reliability.md): a crash after the sign-in's commit made the retry record a
# second sign-in; the session id now derives from the request's key and the retry answers the recorded session.
KNOWN: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.stress
@pytest.mark.parametrize("name", [pytest.param(n, marks=KNOWN.get(n, ())) for n in names(CAPABILITY, long=None)])
def test_crash_at_every_call(world: World, name: str) -> None:
    crash_everywhere(world, name, exhaustive=True)
