"""Per-container Powertools logger keys, so concurrent local invocations never log each other's ids.

Powertools' ``Logger`` keeps its structured keys (``function_request_id``, ``correlation_id``,
``cold_start`` ... appended by ``inject_lambda_context``) in one dict on its formatter,
``LambdaPowertoolsFormatter.log_format``. On Lambda a process runs one invocation at a time, so that is
safe. Locally every function shares one process and ``shared.observability.logger`` is one object, so
two concurrent invocations overwrite each other's keys: request A logs request B's ids.

``install()`` turns ``log_format`` into a data descriptor: inside ``scope(state)`` (entered by
``FunctionRegistry.invoke`` with the state of the container running the invocation) the formatter
reads and writes that container's own copy, started from the formatter's keys at the container's
first invocation; outside any scope it uses the formatter's own dict, as before. A container runs one
invocation at a time, so each invocation logs with its own request id and correlation id, and keys
persist from one invocation of a container to the next exactly as they do on Lambda.

The scope is a ``ContextVar``: threads a handler starts itself log with the shared keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_scope: ContextVar[dict[Any, Any] | None] = ContextVar("local_stack_log_state", default=None)


class _ScopedLogFormat:
    """``LambdaPowertoolsFormatter.log_format``: the current container's copy inside a scope."""

    def __get__(self, formatter: Any, owner: Any = None) -> Any:
        if formatter is None:
            return self
        shared = formatter.__dict__.get("log_format")
        state = _scope.get()
        if state is None:
            return shared
        if formatter not in state:
            state[formatter] = dict(shared or {})
        return state[formatter]

    def __set__(self, formatter: Any, value: Any) -> None:
        state = _scope.get()
        if state is None:
            formatter.__dict__["log_format"] = value
        else:
            state[formatter] = value


@contextlib.contextmanager
def scope(state: dict[Any, Any]) -> Iterator[None]:
    """Log with ``state`` (one container's keys) on this thread/context."""
    token = _scope.set(state)
    try:
        yield
    finally:
        _scope.reset(token)


def install() -> None:
    """Idempotent; formatters created before the call keep their keys (they become the shared copy)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if not isinstance(LambdaPowertoolsFormatter.__dict__.get("log_format"), _ScopedLogFormat):
        LambdaPowertoolsFormatter.log_format = _ScopedLogFormat()  # type: ignore[assignment,misc]
