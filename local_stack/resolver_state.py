"""Per-thread Powertools resolver state, so concurrent local invocations never see each other's event.

Powertools' ``resolve()`` stores the request in class attributes
(``BaseRouter.current_event = ...``, ``BaseRouter.lambda_context = ...``) so
that Routers in other modules can read it. On Lambda a process handles one
event at a time, so that is safe; the local stack runs every function in one
process with concurrent threads, where two requests in flight would read each
other's event (e.g. the caller's claims). ``install()`` turns both attributes
into thread-local slots, for class-level and instance-level access alike:

* a data descriptor in ``BaseRouter.__dict__`` serves ``app.current_event``;
* a metaclass property serves ``BaseRouter.current_event = ...`` (class-level
  assignment goes through the metaclass, which would otherwise replace the
  descriptor).
"""

from __future__ import annotations

import abc
import threading
from typing import Any

_ATTRS = ("current_event", "lambda_context")
_state = threading.local()


class _Slot:
    """Data descriptor reading/writing one per-thread value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return getattr(_state, self.name, None)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(_state, self.name, value)


def _meta_property(name: str) -> property:
    return property(lambda cls: getattr(_state, name, None), lambda cls, value: setattr(_state, name, value))


class ThreadLocalRouterMeta(abc.ABCMeta):
    current_event = _meta_property("current_event")
    lambda_context = _meta_property("lambda_context")


def install() -> None:
    """Idempotent; call before handlers resolve events concurrently."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if type(BaseRouter) is ThreadLocalRouterMeta:
        return
    for name in _ATTRS:
        setattr(BaseRouter, name, _Slot(name))  # while the metaclass is still ABCMeta: a plain class attribute
    BaseRouter.__class__ = ThreadLocalRouterMeta  # type: ignore[method-assign,assignment]
