"""Lambda's asynchronous invocation queue, locally: retries, then destinations or the dead-letter queue.

Everything that invokes a function asynchronously on AWS goes through here: ``Invoke`` with
``InvocationType=Event`` (from a handler or a state machine), EventBridge rules and schedules. As on AWS:

* the invocation is queued and the caller does not wait; each attempt runs the handler in-process
  with the same request id (``context.aws_request_id``);
* a function error is retried ``EventInvokeConfig.MaximumRetryAttempts`` times (default 2), the first
  retry after about a minute and the second after about two (both multiplied by ``time_scale``);
  an event older than ``MaximumEventAgeInSeconds`` is not retried any more;
* then the invocation record goes to ``EventInvokeConfig.DestinationConfig.OnFailure`` if declared,
  otherwise the event goes to the function's ``DeadLetterQueue`` if declared, otherwise it is logged
  and dropped; a success goes to ``OnSuccess`` if declared.

Note the division of labour AWS uses, kept here: a source's own ``RetryPolicy``/``DeadLetterConfig``
(schedules, rule targets) covers failures to *deliver* the event to Lambda (e.g. the function does
not exist); the function's own errors are handled by this queue.

``drain()`` waits until nothing is queued, waiting for a retry or running; ``pause()`` (used by
``LocalStack.reset``) waits for running invocations and forgets queued ones.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local_stack.emulator import error_payload
from local_stack.template import ACCOUNT, REGION, Template

if TYPE_CHECKING:
    from local_stack.destinations import Destinations
    from local_stack.functions import FunctionRegistry

log = logging.getLogger("local_stack.async")

RETRY_DELAYS = (60.0, 120.0)  # seconds before the first and second retry, as Lambda documents (~1 and ~2 min)


@dataclass(frozen=True)
class AsyncConfig:
    """A function's asynchronous invocation settings (``EventInvokeConfig``, ``DeadLetterQueue``)."""

    maximum_retry_attempts: int = 2
    maximum_event_age: float = 21600.0
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter: str | None = None

    @classmethod
    def of(cls, template: Template, logical_id: str) -> AsyncConfig:
        config = template.function_property(logical_id, "EventInvokeConfig") or {}
        dests = config.get("DestinationConfig") or {}

        def destination(kind: str) -> str | None:
            spec = dests.get(kind)
            if not spec:
                return None
            if spec.get("Destination") is not None:
                return str(template.resolve(spec["Destination"]))
            # SAM creates the queue/topic itself when only the Type is given: "<Function>EventInvokeConfig<Kind>Queue".
            suffix = {"SQS": "Queue", "SNS": "Topic"}.get(str(spec.get("Type")))
            if suffix is None:
                return None
            name = f"{logical_id}EventInvokeConfig{kind}{suffix}"
            service = "sqs" if suffix == "Queue" else "sns"
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"

        dlq = template.function_property(logical_id, "DeadLetterQueue") or {}
        return cls(
            maximum_retry_attempts=int(template.resolve(config.get("MaximumRetryAttempts", 2))),
            maximum_event_age=float(template.resolve(config.get("MaximumEventAgeInSeconds", 21600))),
            on_success=destination("OnSuccess"),
            on_failure=destination("OnFailure"),
            dead_letter=str(template.resolve(dlq["TargetArn"])) if dlq.get("TargetArn") else None,
        )


@dataclass(frozen=True)
class AsyncTarget:
    """A function found in one of the stack's registries."""

    registry: FunctionRegistry
    logical_id: str

    @property
    def arn(self) -> str:
        return self.registry.template.arn(self.logical_id)

    @property
    def config(self) -> AsyncConfig:
        return AsyncConfig.of(self.registry.template, self.logical_id)


Resolver = Callable[[str], AsyncTarget | None]


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    target: AsyncTarget = field(compare=False)
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    enqueued: float = field(compare=False)
    attempt: int = field(compare=False, default=1)
    generation: int = field(compare=False, default=0)


class AsyncInvoker:
    """The asynchronous invocation queue of every function of the stack (one dispatcher, a worker pool)."""

    def __init__(self, resolve: Resolver, destinations: Destinations, time_scale: float = 1.0,
                 workers: int = 8) -> None:
        self.resolve = resolve
        self.destinations = destinations
        self.time_scale = time_scale
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._paused = 0
        self._generation = 0
        self._stopped = False
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lambda-async")
        self._thread = threading.Thread(target=self._dispatch, name="lambda-async-dispatch", daemon=True)
        self._thread.start()

    # --- public API -----------------------------------------------------------------------
    def submit(self, function: str, event: Any) -> str:
        """Queue an asynchronous invocation (``InvocationType=Event``); returns its request id.

        Raises ``LookupError`` if no registry knows the function (the caller's delivery failure)."""
        target = self.resolve(function)
        if target is None:
            raise LookupError(f"Function not found: {function}")
        request_id = str(uuid.uuid4())
        now = time.monotonic()
        with self._cond:
            heapq.heappush(self._heap, _Job(now, next(self._seq), target, event, request_id, time.time(),
                                            generation=self._generation))
            self._cond.notify_all()
        return request_id

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._running == 0

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until no invocation is queued, waiting for a retry, or running."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._heap)} async invocations queued, {self._running} running")
                self._cond.wait(min(remaining, 0.05))

    @contextlib.contextmanager
    def paused(self, timeout: float = 30.0) -> Iterator[None]:
        """Stop dispatching, wait for running invocations, forget queued ones (and their retries)."""
        with self._cond:
            self._paused += 1
            self._generation += 1
            self._heap.clear()
            deadline = time.monotonic() + timeout
            while self._running and time.monotonic() < deadline:
                self._cond.wait(0.05)
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1
                self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- dispatcher and workers -------------------------------------------------------------
    def _dispatch(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._paused or not self._heap:
                    self._cond.wait(0.2)
                    continue
                wait = self._heap[0].due - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.2))
                    continue
                job = heapq.heappop(self._heap)
                self._running += 1
                self._pool.submit(self._run, job)

    def _run(self, job: _Job) -> None:
        try:
            self._attempt(job)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _attempt(self, job: _Job) -> None:
        target, config = job.target, job.target.config
        try:
            result = target.registry.invoke(target.logical_id, job.event, request_id=job.request_id)
        except Exception as exc:  # noqa: BLE001 - a function error is the queue's business: retry or dead-letter
            self._failed(job, config, exc)
            return
        if config.on_success:
            self.destinations.send(config.on_success, self._record(job, "Success", result, None),
                                   detail_type="Lambda Function Invocation Result - Success")

    def _failed(self, job: _Job, config: AsyncConfig, exc: Exception) -> None:
        name = job.target.logical_id
        age = time.time() - job.enqueued
        retries_left = config.maximum_retry_attempts - (job.attempt - 1)
        delay = RETRY_DELAYS[min(job.attempt - 1, len(RETRY_DELAYS) - 1)] * self.time_scale
        if retries_left > 0 and age + delay <= config.maximum_event_age:
            log.warning("async invocation of %s failed (attempt %d, %s: %s); retrying in %.3gs",
                        name, job.attempt, type(exc).__name__, exc, delay)
            with self._cond:
                if job.generation == self._generation and not self._stopped:
                    heapq.heappush(self._heap, _Job(time.monotonic() + delay, next(self._seq), job.target, job.event,
                                                    job.request_id, job.enqueued, job.attempt + 1, job.generation))
                    self._cond.notify_all()
            return
        condition = "RetriesExhausted" if retries_left <= 0 else "EventAgeExceeded"
        if config.on_failure:
            where = config.on_failure
            self.destinations.send(where, self._record(job, condition, error_payload(exc), type(exc).__name__))
        elif config.dead_letter:
            where = config.dead_letter
            self.destinations.send(where, job.event, {"RequestID": job.request_id, "ErrorCode": "200",
                                                      "ErrorMessage": f"{type(exc).__name__}: {exc}"[:1000]})
        else:
            where = "nowhere (no OnFailure destination or DeadLetterQueue declared)"
        log.error("async invocation of %s failed after %d attempts (%s: %s); event sent to %s",
                  name, job.attempt, type(exc).__name__, exc, where)

    @staticmethod
    def _record(job: _Job, condition: str, payload: Any, function_error: str | None) -> dict[str, Any]:
        """The invocation record Lambda sends to a destination."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response["functionError"] = "Unhandled"
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {"requestId": job.request_id, "functionArn": f"{job.target.arn}:$LATEST",
                               "condition": condition, "approximateInvokeCount": job.attempt},
            "requestPayload": job.event,
            "responseContext": response,
            "responsePayload": payload,
        }
