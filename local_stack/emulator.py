"""The embedded AWS emulator: a moto server on loopback, serialized, with Lambda wired to our handlers.

* **Serialized**: moto's DynamoDB is not safe under concurrent requests
  (conditional transactions double-apply), so every request to the emulator
  runs under one lock. Lambda invocations are the exception: they run our
  handler, which itself calls the emulator, so they must not hold the lock.
* **Step Functions execute** (moto's ``execute_state_machine`` switch) and
  their Lambda tasks reach the real handlers in-process through a patch of
  ``LambdaBackend.invoke``; an exception becomes ``FunctionError`` with
  ``errorType`` = the exception's class name, so ASL Retry/Catch match it.
* **Transactions in O(items)**: moto 5.2.5 deep-copies every table a
  ``TransactWriteItems`` touches, to roll back on failure, which makes a
  ledger of n entries cost O(n) per transfer. The patch keeps moto's own
  transaction logic but backs up and restores only the items the transaction
  names, and drops the stream records a cancelled transaction appended.
* **Queries in O(partition)**: moto 5.2.5 answers every base-table ``Query``
  by sorting all the table's items and filtering on the partition key; the
  patch hands that same code only the queried partition's items (index
  queries are untouched).
* **Retry back-off** sleeps inside state machines are multiplied by
  ``time_scale`` (tests use a small factor).
* **EventBridge Lambda targets**: moto 5.2.5 raises for them; ``Rule.send_to_targets`` hands each
  matching Lambda target's event to ``rule_lambda_target`` (``local_stack.rules``) and lets moto
  deliver the rule's other targets itself.
* **Stream activity**: every record moto appends to a table's stream notifies ``stream_listeners``
  (table name), so the stream pollers (``local_stack.streams``) wake up at once instead of spinning.

The patch targets moto's internals, so the moto version is pinned and checked.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import moto
from moto.core.config import default_user_config
from werkzeug.serving import BaseWSGIServer, make_server

SUPPORTED_MOTO = "5.2.5"
_INVOKE_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/functions/[^/]+/invocations/?$")

Invoker = Callable[[str, Any, bool], tuple[Any, str | None] | None]
"""(function name or ARN, event, is_async) -> (result payload, error type or None), or None if unknown."""


class SerializedApp:
    """WSGI middleware running every emulator request under one lock (except Lambda invokes)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and _INVOKE_PATH.match(environ.get("PATH_INFO", "")):
            return list(self.app(environ, start_response))
        with self.lock:
            return list(self.app(environ, start_response))


def check_moto_version() -> None:
    if moto.__version__ != SUPPORTED_MOTO:
        raise RuntimeError(
            f"local_stack patches moto {SUPPORTED_MOTO} internals; found moto {moto.__version__}. "
            "Pin moto in requirements-dev.txt or re-check local_stack/emulator.py against the new version."
        )


class Emulator:
    """A moto server in a background thread on 127.0.0.1 (``port=0`` picks a free port)."""

    def __init__(self, port: int = 0, time_scale: float = 1.0) -> None:
        check_moto_version()
        self.requested_port = port
        self.time_scale = time_scale
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._saved: dict[str, Any] = {}
        self.invokers: list[Invoker] = []
        self.rule_lambda_target: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None
        """(rule ARN, target, matching event) for each Lambda target; called under the emulator lock."""
        self.stream_listeners: list[Callable[[str], None]] = []
        """Called with the table name after each record appended to a table's stream (under the lock)."""

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, invoker: Invoker) -> None:
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.moto_server.utilities import RegexConverter  # noqa: F401  (import side effects)
        from moto.server import DomainDispatcherApplication, create_backend_app

        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        self.invokers.append(invoker)
        self._patch()
        from local_stack.s3_post_policy import S3PostPolicy

        app = S3PostPolicy(SerializedApp(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server("127.0.0.1", self.requested_port, app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._unpatch()

    def reset(self) -> None:
        """Forget every resource (moto's reset API) without restarting the server."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10)

    # --- patches --------------------------------------------------------------
    def dispatch(self, name_or_arn: str, event: Any, is_async: bool) -> tuple[Any, str | None]:
        """Route an invocation to the first function registry that knows the function."""
        for invoker in self.invokers:
            outcome = invoker(name_or_arn, event, is_async)
            if outcome is not None:
                return outcome
        message = f"Function not found: {name_or_arn}"
        return {"errorType": "ResourceNotFoundException", "errorMessage": message}, "ResourceNotFoundException"

    def _patch(self) -> None:
        from moto.awslambda.models import LambdaBackend
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        scale = self.time_scale
        emulator = self

        def invoke(backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                   response_headers: dict[str, str]) -> bytes:
            event = json.loads(body) if body else {}
            is_async = (headers or {}).get("X-Amz-Invocation-Type") == "Event"
            result, error = emulator.dispatch(function_name, event, is_async)
            if error:
                response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(result, default=str).encode()
            response_headers["Content-Length"] = str(len(payload))
            return payload

        import moto.dynamodb.models as ddb_models

        self._saved = {"invoke": LambdaBackend.invoke, "time": retrier_decl.time,
                       "transact": ddb_models.DynamoDBBackend.transact_write_items, "copy": ddb_models.copy}
        LambdaBackend.invoke = invoke  # type: ignore[assignment,method-assign]
        ddb_models.copy = _NO_TABLE_COPY  # type: ignore[assignment]
        ddb_models.DynamoDBBackend.transact_write_items = _item_level_rollback(  # type: ignore[method-assign]
            self._saved["transact"])
        from moto.dynamodb.models.table import Table
        from moto.dynamodb.responses import DynamoHandler

        self._saved["handler_transact"] = DynamoHandler.transact_write_items
        DynamoHandler.transact_write_items = _client_request_token(  # type: ignore[method-assign]
            self._saved["handler_transact"])
        self._saved.update({"query": Table.query, "all_items": Table.all_items})
        Table.query, Table.all_items = _partition_scoped_query(  # type: ignore[method-assign]
            self._saved["query"], self._saved["all_items"])
        retrier_decl.time = SimpleNamespace(sleep=lambda s: time.sleep(s * scale))  # type: ignore[assignment]

        from moto.dynamodb.models.table import StreamShard
        from moto.events.models import Rule

        self._saved.update({"send_to_targets": Rule.send_to_targets, "shard_add": StreamShard.add})
        Rule.send_to_targets = _lambda_targets(self, self._saved["send_to_targets"])  # type: ignore[method-assign]
        original_add = self._saved["shard_add"]

        def shard_add(shard: Any, old: Any, new: Any) -> None:
            original_add(shard, old, new)
            for listener in list(emulator.stream_listeners):
                listener(shard.table.name)

        StreamShard.add = shard_add  # type: ignore[method-assign,assignment]

    def _unpatch(self) -> None:
        if not self._saved:
            return
        import moto.dynamodb.models as ddb_models
        from moto.awslambda.models import LambdaBackend
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        LambdaBackend.invoke = self._saved["invoke"]  # type: ignore[method-assign]
        ddb_models.DynamoDBBackend.transact_write_items = self._saved["transact"]  # type: ignore[method-assign]
        from moto.dynamodb.models.table import Table
        from moto.dynamodb.responses import DynamoHandler

        DynamoHandler.transact_write_items = self._saved["handler_transact"]  # type: ignore[method-assign]
        Table.query = self._saved["query"]  # type: ignore[method-assign]
        Table.all_items = self._saved["all_items"]  # type: ignore[method-assign]
        ddb_models.copy = self._saved["copy"]
        retrier_decl.time = self._saved["time"]
        from moto.dynamodb.models.table import StreamShard
        from moto.events.models import Rule

        Rule.send_to_targets = self._saved["send_to_targets"]  # type: ignore[method-assign]
        StreamShard.add = self._saved["shard_add"]  # type: ignore[method-assign]
        self._saved = {}


def _lambda_targets(emulator: Emulator, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's ``Rule.send_to_targets``: Lambda targets go to ``emulator.rule_lambda_target``."""

    def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        lambdas = [t for t in rule.targets if ":lambda:" in str(t.get("Arn", ""))]
        if not lambdas:
            original(rule, event, transform_input)
            return
        if rule.scheduled_expression and not rule.event_pattern.get_pattern():
            return  # a scheduled rule matches no event (local_stack.schedules fires it)
        if rule.state == "ENABLED" and rule.event_pattern.matches_event(event) and emulator.rule_lambda_target:
            for target in lambdas:
                emulator.rule_lambda_target(rule.arn, target, copy.deepcopy(event))
        others = [t for t in rule.targets if t not in lambdas]
        if others:
            saved, rule.targets = rule.targets, others  # every emulator request runs under one lock
            try:
                original(rule, event, transform_input)
            finally:
                rule.targets = saved

    return send_to_targets


def _deepcopy_except_tables(obj: Any, memo: Any = None) -> Any:
    from moto.dynamodb.models.table import Table

    return obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)


_NO_TABLE_COPY = SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)


def _backup(backend: Any, entry: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(table, hash, range, deep copy of the item or None) for one transaction entry, if it names an item."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(entry) != 1:
        return None
    op_type, op = next(iter(entry.items()))
    table = backend.tables.get(op.get("TableName"))
    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if table is None or not attrs or table.hash_key_attr not in attrs:
        return None
    h = DynamoType(attrs[table.hash_key_attr])
    if not table.range_key_attr:
        return table, h, None, copy.deepcopy(table.items.get(h))
    if table.range_key_attr not in attrs:
        return None
    r = DynamoType(attrs[table.range_key_attr])
    return table, h, r, copy.deepcopy(table.items[h].get(r) if h in table.items else None)


def _restore(table: Any, h: Any, r: Any, saved: Any) -> None:
    if not table.range_key_attr:
        if saved is None:
            table.items.pop(h, None)
        else:
            table.items[h] = saved
    elif saved is not None:
        table.items[h][r] = saved
    elif h in table.items:
        table.items[h].pop(r, None)
        if not table.items[h]:
            del table.items[h]


def _item_level_rollback(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's transact_write_items: back up only the named items, restore them if it fails."""

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
        undo = [b for b in (_backup(backend, entry) for entry in transact_items) if b is not None]
        # moto writes the items one by one and appends their stream records as it goes: a cancelled transaction
        # must leave none (on DynamoDB it never appears in the stream). Requests are serialized, so no poller
        # has read them in between.
        shards = {id(t.stream_shard): (t.stream_shard, len(t.stream_shard.items))
                  for t, *_ in undo if getattr(t, "stream_shard", None) is not None}
        try:
            return original(backend, transact_items)
        except Exception:
            for table, h, r, saved in reversed(undo):
                _restore(table, h, r, saved)
            for shard, length in shards.values():
                del shard.items[length:]
            raise

    return transact_write_items


TOKEN_WINDOW_S = 600  # DynamoDB: a ClientRequestToken is idempotent for 10 minutes


def _client_request_token(original: Callable[..., Any]) -> Callable[..., Any]:
    """``TransactWriteItems`` honours ``ClientRequestToken`` as DynamoDB does (moto ignores it): the SDK fills
    one per API call and keeps it across its own retries, so a retry of a transaction that committed (the client
    timed out) succeeds again without applying it twice; the same token with other items is
    ``IdempotentParameterMismatchException``. Requests are serialized, so the check and the apply are atomic."""
    seen: dict[str, tuple[str, float]] = {}

    def transact_write_items(handler: Any) -> Any:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return original(handler)
        digest = json.dumps(handler.body.get("TransactItems"), sort_keys=True)
        now = time.monotonic()
        for old in [t for t, (_, at) in seen.items() if now - at > TOKEN_WINDOW_S]:
            del seen[old]
        if token in seen:
            if seen[token][0] != digest:
                from moto.core.exceptions import JsonRESTError

                raise JsonRESTError("IdempotentParameterMismatchException",
                                    "The ClientRequestToken was used with different parameters.")
            from moto.core.responses import ActionResult

            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(handler)
        seen[token] = (digest, now)
        return result

    return transact_write_items


_QUERY_SCOPE = threading.local()


def _partition_scoped_query(query: Callable[..., Any],
                            all_items: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """moto's ``Table.query`` filters ``all_items()`` (every item, sorted) on the hash key; during a query of
    the table or of a local secondary index, on this thread, ``all_items()`` returns only the queried partition."""

    def scoped_all_items(table: Any) -> Any:
        scope = getattr(_QUERY_SCOPE, "partition", None)
        if scope is None or scope[0] is not table:
            return all_items(table)
        partition = table.items.get(scope[1])
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]

    def scoped_query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        # A local secondary index shares the table's partition key, so its query reads one partition too.
        local_indexes = {i.name for i in getattr(table, "indexes", [])}
        if hash_key is None or (index_name is not None and index_name not in local_indexes):
            return query(table, hash_key, *args, **kwargs)
        _QUERY_SCOPE.partition = (table, hash_key)
        try:
            return query(table, hash_key, *args, **kwargs)
        finally:
            _QUERY_SCOPE.partition = None

    return scoped_query, scoped_all_items


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The payload Lambda returns for an unhandled exception."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-3:],
    }
