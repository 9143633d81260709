"""Faults at the AWS SDK boundary: crash a function at its k-th AWS call, or inject seeded service errors.

Every botocore client the process creates once the local stack runs is hooked (``local_stack/iam.py`` registers
these hooks next to its own); nothing happens until a test activates an interceptor with ``intercept(...)``:

* ``CallCounter``: counts the AWS calls a use case's functions make (``before-call``: one per API call, whatever
  the SDK's own retries do underneath);
* ``CrashAt(k, "before" | "after")``: the k-th call of the watched functions raises ``SimulatedCrash`` before it
  is sent (``before-call``: nothing reached AWS) or after it succeeded and before its response is seen
  (``after-call``: its effect happened). ``SimulatedCrash`` is a ``BaseException``: like a process that dies,
  nothing that catches ``Exception`` runs (Powertools idempotency does not delete its in-progress record, no
  compensation runs). The gateway answers 502 for it, as API Gateway does when the Lambda runtime dies;
* ``WriteRecorder``: the state-changing calls that succeeded (``after-call``), e.g. to prove a refused request
  changed nothing without scanning a table;
* ``SeededFaults(seed, p)``: on each HTTP attempt (``before-send``, so the SDK's retry policy sees it as it
  would see AWS) with probability ``p`` answers throttling, ``TransactionCanceledException`` with
  ``TransactionConflict``, ``InternalServerError``, or sends the request for real and then raises a read timeout
  (the call committed, the client saw a timeout). Every decision comes from ``random.Random(seed)`` in call
  order, so a serial run reproduces from its seed; ``log`` keeps what was injected.

A call is watched when the function running on the calling thread is one of ``functions`` (``None``: any
function), or, with ``outside_functions=True``, when no function runs on the thread (a test driving a service
directly). Calls whose operation is in ``skip_operations`` are never touched (the test's own scans).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CRASH_POINTS = ("before", "after")


class SimulatedCrash(BaseException):
    """The Lambda process died here: raised through every ``except Exception``."""


class FunctionCrashed(Exception):
    """What the invoker of a function that crashed sees (the Lambda runtime reports ``Runtime.ExitError``).

    ``FunctionRegistry.invoke`` turns a ``SimulatedCrash`` into this at the runtime boundary: the gateway answers
    502, a state machine task fails with ``Runtime.ExitError``, a stream batch or an async event is retried."""

    error_type = "Runtime.ExitError"


@dataclass(frozen=True)
class Call:
    function: str | None
    service: str
    operation: str


def _function() -> str | None:
    from local_stack.iam import current_function

    return current_function()


_machinery = threading.local()


def machinery_thread() -> None:
    """Mark the calling thread as the local stack's own machinery (a stream poller): its own AWS calls (reading
    the stream) are never watched, as on AWS they are not the platform's; a function it invokes still is."""
    _machinery.on = True


class Interceptor:
    """Base: which calls are watched; subclasses override the hooks they need."""

    def __init__(self, functions: Collection[str] | None = None, outside_functions: bool = False,
                 skip_operations: Collection[str] = ()) -> None:
        self.functions = set(functions) if functions is not None else None
        self.outside_functions = outside_functions
        self.skip_operations = set(skip_operations)
        self.lock = threading.Lock()

    def watches(self, call: Call) -> bool:
        if call.operation in self.skip_operations:
            return False
        if call.function is None:
            return self.outside_functions and not getattr(_machinery, "on", False)
        return self.functions is None or call.function in self.functions

    def before_call(self, call: Call, params: dict[str, Any]) -> None:
        """Once per API call, before its first attempt."""

    def before_send(self, call: Call, request: Any) -> Any:
        """Once per HTTP attempt; a returned ``AWSResponse`` replaces the real one."""
        return None

    def after_call(self, call: Call, status: int) -> None:
        """Once per API call, after its last attempt was parsed."""


class CallCounter(Interceptor):
    """Counts the watched calls (per operation too)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[Call] = []
        self.attempts: Counter[str] = Counter()

    def before_call(self, call: Call, params: dict[str, Any]) -> None:
        if self.watches(call):
            with self.lock:
                self.calls.append(call)

    def before_send(self, call: Call, request: Any) -> Any:
        if self.watches(call):
            with self.lock:
                self.attempts[call.operation] += 1
        return None

    @property
    def count(self) -> int:
        return len(self.calls)


class CrashAt(Interceptor):
    """The ``k``-th watched call (1-based) crashes ``when`` ("before" it is sent, or "after" it succeeded)."""

    def __init__(self, k: int, when: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if when not in CRASH_POINTS:
            raise ValueError(f"when must be one of {CRASH_POINTS}")
        self.k = k
        self.when = when
        self.seen = 0
        self.crashed: Call | None = None

    def _hit(self, call: Call) -> bool:
        if self.crashed is not None or not self.watches(call):
            return False
        with self.lock:
            self.seen += 1
            return self.seen == self.k

    def before_call(self, call: Call, params: dict[str, Any]) -> None:
        if self.when == "before" and self._hit(call):
            self.crashed = call
            raise SimulatedCrash(f"crash before call {self.k} ({call.operation} by {call.function})")

    def after_call(self, call: Call, status: int) -> None:
        if self.when == "after" and self._hit(call):
            self.crashed = call
            raise SimulatedCrash(f"crash after call {self.k} ({call.operation} by {call.function}, HTTP {status})")


class WriteRecorder(Interceptor):
    """Records the watched calls that changed state and succeeded (``after-call`` with a 2xx): DynamoDB writes,
    Step Functions executions and task answers, S3 writes, events, messages, asynchronous invocations. Reads,
    KMS (encrypting changes nothing) and failed calls (a refused condition, a cancelled transaction) are not
    writes. Each write keeps the tables it named and its request parameters (for allow-lists that need the key)."""

    WRITES = {
        "dynamodb": {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem",
                     "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"},
        "stepfunctions": {"StartExecution", "StartSyncExecution", "SendTaskSuccess", "SendTaskFailure",
                          "SendTaskHeartbeat", "StopExecution"},
        "s3": {"PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "CompleteMultipartUpload"},
        "events": {"PutEvents"},
        "sqs": {"SendMessage", "SendMessageBatch"},
        "sns": {"Publish", "PublishBatch"},
        "lambda": {"Invoke", "InvokeAsync"},
        "scheduler": {"CreateSchedule", "UpdateSchedule", "DeleteSchedule"},
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writes: list[Write] = []
        self._pending = threading.local()

    def before_call(self, call: Call, params: dict[str, Any]) -> None:
        writing = self.watches(call) and call.operation in self.WRITES.get(call.service, ())
        self._pending.params = _request_params(params) if writing else None

    def after_call(self, call: Call, status: int) -> None:
        params = getattr(self._pending, "params", None)
        self._pending.params = None
        if params is not None and 200 <= status < 300:
            with self.lock:
                self.writes.append(Write(call, _tables(params), params))


@dataclass(frozen=True)
class Write:
    call: Call
    tables: tuple[str, ...]
    params: dict[str, Any] = field(compare=False)

    def __str__(self) -> str:
        where = ",".join(self.tables)
        return f"{self.call.service}:{self.call.operation}" + (f"({where})" if where else "")


def _request_params(request_dict: dict[str, Any]) -> dict[str, Any]:
    """The API parameters of a serialized request (``before-call`` sees the request dict): the JSON body of the JSON
    protocols (DynamoDB, Step Functions, EventBridge...); empty for the others (S3's REST)."""
    body = request_dict.get("body")
    try:
        parsed = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _tables(params: dict[str, Any]) -> tuple[str, ...]:
    """The DynamoDB tables a write names (single-item calls, transactions, batches), in order, once each."""
    names = [params.get("TableName")]
    for item in params.get("TransactItems", ()):
        names.extend(op.get("TableName") for op in item.values() if isinstance(op, dict))
    names.extend(params.get("RequestItems", {}) or ())
    return tuple(dict.fromkeys(str(n) for n in names if n))


# --- seeded service faults --------------------------------------------------------------------------------------
FAULT_KINDS = ("throttling", "transaction_conflict", "internal_error", "timeout_after_commit")


def _json_error(status: int, code: str, message: str, **extra: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    response = AWSResponse("https://local-faults", status, headers, None)  # type: ignore[arg-type]
    response._content = body  # type: ignore[attr-defined]  # botocore reads .content; no stream behind it
    return response


@dataclass
class Injected:
    n: int
    kind: str
    call: Call


@dataclass
class SeededFaults(Interceptor):
    """With probability ``p`` per HTTP attempt of a watched DynamoDB call, one of ``kinds`` (seeded)."""

    seed: int = 0
    p: float = 0.2
    kinds: tuple[str, ...] = FAULT_KINDS
    functions_: Collection[str] | None = None
    outside: bool = False
    skip: Collection[str] = ("Scan", "DescribeTable")
    log: list[Injected] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        super().__init__(functions=self.functions_, outside_functions=self.outside, skip_operations=self.skip)
        self.rng = random.Random(self.seed)

    def before_send(self, call: Call, request: Any) -> Any:
        if call.service != "dynamodb" or not self.watches(call):
            return None
        with self.lock:
            self.attempts += 1
            if self.rng.random() >= self.p:
                return None
            kinds = [k for k in self.kinds if k != "transaction_conflict" or call.operation == "TransactWriteItems"]
            kind = self.rng.choice(kinds)
            self.log.append(Injected(self.attempts, kind, call))
        return self._answer(kind, request)

    @staticmethod
    def _answer(kind: str, request: Any) -> Any:
        if kind == "throttling":
            code = random.choice(("ThrottlingException", "ProvisionedThroughputExceededException"))
            return _json_error(400, code, "Rate of requests exceeds the allowed throughput (injected).")
        if kind == "internal_error":
            return _json_error(500, "InternalServerError", "Internal server error (injected).")
        if kind == "transaction_conflict":
            items = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
            reasons = [{"Code": "None"}] * items
            reasons[random.randrange(items)] = {"Code": "TransactionConflict",
                                                "Message": "Transaction is ongoing for the item (injected)"}
            return _json_error(400, "TransactionCanceledException",
                               "Transaction cancelled, please refer cancellation reasons for specific reasons "
                               "[TransactionConflict] (injected)", CancellationReasons=reasons)
        # timeout after commit: the request really reaches the service, the client never sees the answer
        from botocore.exceptions import ReadTimeoutError
        from botocore.httpsession import URLLib3Session

        URLLib3Session().send(request)
        raise ReadTimeoutError(endpoint_url=request.url)

    def counts(self) -> Counter[str]:
        return Counter(i.kind for i in self.log)


# --- activation and the botocore hooks -----------------------------------------------------------------------------
_active: list[Interceptor] = []
_active_lock = threading.Lock()
_current = threading.local()  # the API call in progress on this thread (its attempts are sent on the same thread)


@contextmanager
def intercept(interceptor: Interceptor) -> Iterator[Interceptor]:
    """Activate ``interceptor`` for the block (process-wide: calls from every thread are seen)."""
    with _active_lock:
        _active.append(interceptor)
    try:
        yield interceptor
    finally:
        with _active_lock:
            _active.remove(interceptor)


def _call(model: Any) -> Call:
    return Call(_function(), str(model.service_model.service_name), str(model.name))


def _before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    _current.call = None
    if not _active:
        return
    call = _call(model)
    context["local_faults_call"] = call
    _current.call = call
    for interceptor in list(_active):
        interceptor.before_call(call, params)


def _before_send(request: Any, **_: Any) -> Any:
    if not _active:
        return None
    call: Call | None = getattr(_current, "call", None)
    if call is None:
        return None
    for interceptor in list(_active):
        answer = interceptor.before_send(call, request)
        if answer is not None:
            return answer
    return None


def _after_call(http_response: Any, context: dict[str, Any], **_: Any) -> None:
    call: Call | None = context.get("local_faults_call")
    _current.call = None
    if call is None or not _active:
        return
    for interceptor in list(_active):
        interceptor.after_call(call, int(getattr(http_response, "status_code", 0) or 0))


def register(client: Any) -> None:
    """Hook one botocore client (called for every client the process creates, see ``local_stack/iam.py``)."""
    events = client.meta.events
    events.register("before-call", _before_call, unique_id="local-faults-call")
    events.register_first("before-send", _before_send, unique_id="local-faults-send")
    events.register("after-call", _after_call, unique_id="local-faults-after")
