"""Fixtures of the reliability suite: a world on the clean session stack with the schedules held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack import LocalStack
from tests.conftest import Api
from tests.reliability.harness import World


@pytest.fixture
def world(clean_stack: LocalStack) -> Iterator[World]:
    """Schedules are held: a sweep must not finish what a test crashed (the expiry use case runs the sweep)."""
    with clean_stack.scheduler.paused():
        clean_stack.async_invoker.drain()
        yield World(clean_stack, Api(clean_stack))
