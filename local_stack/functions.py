"""The template's functions, imported in-process and invoked like Lambda would.

Each function is imported once ("cold start") with its own environment from
the template applied, so module-level settings and clients see exactly what
they would see on AWS. Invocations then run concurrently.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_stack import log_context, resolver_state
from local_stack.emulator import error_payload
from local_stack.faults import FunctionCrashed, SimulatedCrash
from local_stack.template import ROOT, FunctionSpec, Template

_overlay = threading.local()


class OverlayEnviron(MutableMapping[str, str]):
    """``os.environ`` with a per-thread overlay: each invocation sees its own function's environment.

    Lambda gives every function its own process; here many functions share one,
    so the variables a function's template declares are layered over the process
    environment for the thread running that function (import and invocation).
    Writes go to the real environment.
    """

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    @staticmethod
    def layer() -> dict[str, str]:
        return getattr(_overlay, "env", None) or {}

    def __getitem__(self, key: str) -> str:
        layer = self.layer()
        return layer[key] if key in layer else self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.base[key] = value

    def __delitem__(self, key: str) -> None:
        del self.base[key]

    def __iter__(self) -> Iterator[str]:
        layer = self.layer()
        yield from layer
        yield from (k for k in self.base if k not in layer)

    def __len__(self) -> int:
        return len(set(self.base) | set(self.layer()))

    def copy(self) -> dict[str, str]:
        return dict(self)


def install_overlay() -> None:
    if not isinstance(os.environ, OverlayEnviron):
        # B003 is the point here: a per-thread overlay replaces os.environ, keeping the real one as base.
        os.environ = OverlayEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


@contextmanager
def function_environ(values: dict[str, str]) -> Iterator[None]:
    """Layer ``values`` over the environment for the current thread."""
    install_overlay()
    previous = getattr(_overlay, "env", None)
    _overlay.env = {**(previous or {}), **values}
    try:
        yield
    finally:
        _overlay.env = previous


@dataclass
class LambdaContext:
    """What handlers read from the Lambda context."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    deadline_ms: int = 0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


AsyncSubmit = Callable[[str, Any], Any]
"""(function name or ARN, event) -> request id: queue an asynchronous invocation."""


class UnknownFunction(LookupError):
    pass


_UNKNOWN_ENV = {"": "imported outside this registry"}  # equals no function's environment


class _Container:
    """One warm "Lambda container": its own copy of the handler module, one event at a time.

    ``env`` is the function's environment it was started (imported) with; ``canonical`` marks the container
    that runs the function's canonical module (``sys.modules``) rather than a private copy.
    """

    def __init__(self, handler: Callable[[Any, Any], Any], env: dict[str, str], canonical: bool) -> None:
        self.handler = handler
        self.busy = False
        self.env = env
        self.canonical = canonical
        self.log_state: dict[Any, Any] = {}  # this container's Powertools logger keys (log_context)


class FunctionRegistry:
    """Imports each function's handler and invokes it like Lambda.

    Like Lambda, a function has a pool of containers that each handle one event
    at a time (module-level state such as the Powertools resolver's current event
    is per container, so concurrent requests never share it); a new container is
    a fresh import of the handler module ("cold start"), up to
    ``max_containers`` per function. As on Lambda, changing a function's
    configuration (its ``spec.environment``, which tests may patch) retires its
    idle containers: the next event starts a new one, whose import sees the new
    environment (handlers validate their settings at import).
    """

    def __init__(self, template: Template, extra_env: dict[str, str] | None = None,
                 max_containers: int = int(os.environ.get("LOCAL_LAMBDA_CONCURRENCY", "16"))) -> None:
        self.template = template
        self.specs = template.functions()
        self.extra_env = extra_env or {}
        self.max_containers = max_containers
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._canonical_env: dict[str, dict[str, str]] = {}
        self._pools: dict[str, list[_Container]] = {}
        self._copies = itertools.count(1)
        self._load_lock = threading.Lock()
        self._pool_cond = threading.Condition()
        # Function timeouts shorter than the template's (seconds), for tests that must cross one: the remaining
        # time a handler sees, hence when a crashed request's in-progress idempotency record expires.
        self.timeout_overrides: dict[str, float] = {}
        self.async_invoker: AsyncSubmit | None = None  # set by LocalStack: Lambda's async queue (retries, DLQ)
        resolver_state.install()  # Powertools keeps the current event in class attributes: make them per thread
        log_context.install()  # ... and the logger's keys in the formatter: make them per container
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))

    def resolve_name(self, name_or_arn: str) -> str:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        for lid in self.specs:
            if self.template.physical_name(lid) == name or lid == name:
                return lid
        raise UnknownFunction(f"no function {name_or_arn!r} in template.yaml")

    def handler(self, logical_id: str) -> Callable[[Any, Any], Any]:
        """The handler of the function's first container (its canonical module)."""
        with self._load_lock:
            if logical_id not in self._handlers:
                spec: FunctionSpec = self.specs[logical_id]
                env = self.environment(logical_id)
                imported_elsewhere = spec.module_name in sys.modules  # e.g. by another registry, another env
                with function_environ(env):
                    module = importlib.import_module(spec.module_name)
                # a module imported before this registry ran its import holds settings of an environment this
                # registry does not know: no container runs it (each gets a copy imported under its own env)
                self._canonical_env[logical_id] = _UNKNOWN_ENV if imported_elsewhere else env
                self._handlers[logical_id] = getattr(module, spec.attribute)
            return self._handlers[logical_id]

    def _new_container_handler(self, logical_id: str, env: dict[str, str],
                               canonical: bool) -> Callable[[Any, Any], Any]:
        if canonical:
            return self.handler(logical_id)
        spec = self.specs[logical_id]
        self.handler(logical_id)  # the canonical module may still be importing in another thread
        module_file = sys.modules[spec.module_name].__file__
        alias = f"{spec.module_name}__container{next(self._copies)}"
        module_spec = importlib.util.spec_from_file_location(alias, module_file)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        with function_environ(env):
            module_spec.loader.exec_module(module)
        return getattr(module, spec.attribute)  # type: ignore[no-any-return]

    def _acquire(self, logical_id: str) -> _Container:
        env = self.environment(logical_id)
        with self._pool_cond:
            pool = self._pools.setdefault(logical_id, [])
            while True:
                pool[:] = [c for c in pool if c.busy or c.env == env]  # idle ones of an older configuration retire
                for container in pool:
                    if not container.busy and container.env == env:
                        container.busy = True
                        return container
                if len(pool) < self.max_containers:
                    loaded = self._canonical_env.get(logical_id)
                    if loaded is None:  # not imported by this registry yet: canonical unless another one did
                        loaded = env if self.specs[logical_id].module_name not in sys.modules else _UNKNOWN_ENV
                    canonical = loaded == env and not any(c.canonical for c in pool)
                    placeholder = _Container(lambda e, c: None, env, canonical)
                    placeholder.busy = True
                    pool.append(placeholder)
                    break
                self._pool_cond.wait()
        try:
            placeholder.handler = self._new_container_handler(logical_id, env, canonical)
        except BaseException:
            with self._pool_cond:
                pool.remove(placeholder)
                self._pool_cond.notify_all()
            raise
        return placeholder

    def _release(self, container: _Container) -> None:
        with self._pool_cond:
            container.busy = False
            self._pool_cond.notify()

    def environment(self, logical_id: str) -> dict[str, str]:
        spec = self.specs[logical_id]
        return {**spec.environment, **self.extra_env, "AWS_LAMBDA_FUNCTION_NAME": logical_id}

    def preload(self) -> None:
        for lid in self.specs:
            self.handler(lid)

    def context(self, logical_id: str, request_id: str | None = None) -> LambdaContext:
        spec = self.template.resources[logical_id].get("Properties") or {}
        timeout = self.timeout_overrides.get(
            logical_id, float(spec.get("Timeout", self.template.globals.get("Timeout", 10))))
        return LambdaContext(function_name=logical_id, aws_request_id=request_id or str(uuid.uuid4()),
                             deadline_ms=int(time.time() * 1000 + timeout * 1000))

    def invoke(self, logical_id: str, event: Any, request_id: str | None = None) -> Any:
        """Call the handler in a free container; exceptions propagate (callers decide how to surface them).

        Each call gets its own request id (``request_id`` keeps one across the retries of an asynchronous
        invocation, as Lambda does) and runs with its container's own logger keys."""
        container = self._acquire(logical_id)
        try:
            with function_environ(self.environment(logical_id)), log_context.scope(container.log_state):
                return container.handler(event, self.context(logical_id, request_id))
        except SimulatedCrash as crash:  # the process died: its invoker sees a failed invocation
            raise FunctionCrashed(str(crash)) from None
        finally:
            self._release(container)

    def invoke_for_emulator(self, name_or_arn: str, event: Any, is_async: bool) -> tuple[Any, str | None] | None:
        """The Lambda service's view: an exception becomes an error payload with ``errorType``.

        Returns None when this template has no such function (another registry may).
        """
        try:
            logical_id = self.resolve_name(name_or_arn)
        except UnknownFunction:
            return None
        if is_async:
            if self.async_invoker is not None:
                self.async_invoker(self.template.arn(logical_id), event)
            else:
                threading.Thread(target=self._safe_invoke, args=(logical_id, event), daemon=True).start()
            return {}, None
        try:
            return self.invoke(logical_id, event), None
        except FunctionCrashed as exc:
            return {**error_payload(exc), "errorType": exc.error_type}, exc.error_type
        except Exception as exc:  # noqa: BLE001 - Lambda reports every exception to its caller
            return error_payload(exc), type(exc).__name__

    def _safe_invoke(self, logical_id: str, event: Any) -> None:
        try:
            self.invoke(logical_id, event)
        except Exception:  # an async invocation has no caller to report to; logged
            import logging

            logging.getLogger("local_stack").exception("async invocation of %s failed", logical_id)
