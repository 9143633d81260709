"""DynamoDB Streams event source mappings, locally: the template's ``Type: DynamoDB`` events run as on Lambda.

For every function event ``Type: DynamoDB`` (and every ``AWS::Lambda::EventSourceMapping`` on a table
stream) a ``StreamPoller`` reads the table's stream from the emulator (``dynamodbstreams``
``GetShardIterator``/``GetRecords``) and invokes the function in-process with the event Lambda sends::

    {"Records": [{"eventID", "eventName", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                  "awsRegion", "eventSourceARN": <stream arn>,
                  "dynamodb": {"Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
                               "StreamViewType", "ApproximateCreationDateTime"}}]}

Semantics kept from Lambda (each is a property of the event in the template):

* records of a shard are delivered in order, one batch in flight per shard, at most ``BatchSize``
  records; ``MaximumBatchingWindowInSeconds`` waits for a fuller batch; ``StartingPosition`` LATEST
  skips what the stream held when the mapping was created (a stream created later, e.g. by a reset, is
  read from its start); ``FilterCriteria`` patterns drop non-matching records (moto's pattern matcher);
* a function error retries the whole batch (back-off 0.5 s, 1 s, 2 s ... capped at 60 s, times
  ``time_scale``); ``BisectBatchOnFunctionError`` splits a failing batch in two first (a split does
  not count as a retry; a failing single record does);
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: ``{"batchItemFailures": [{"itemIdentifier":
  <SequenceNumber>}]}`` checkpoints before the lowest failed sequence number and retries from there
  (an identifier not in the batch fails the whole batch);
* after ``MaximumRetryAttempts`` retries (default -1: until the record expires, so a poison record
  blocks its shard, as on AWS) or past ``MaximumRecordAgeInSeconds``, the batch's metadata goes to
  ``DestinationConfig.OnFailure`` (``DDBStreamBatchInfo``: shard id, first/last sequence numbers,
  batch size, stream ARN) and the shard moves on.

Not emulated (refused when the stack starts): ``TumblingWindowInSeconds``, ``StartingPosition:
AT_TIMESTAMP``. ``ParallelizationFactor`` is accepted and has no effect (records are processed one
batch at a time per shard, which keeps the per-key order it guarantees).

Pollers sleep while idle: the emulator notifies them when a record is appended to their table's
stream, and they re-check every ``poll_interval`` (0.1 s) at most. ``EventSourceMappings.drain()``
(``LocalStack.drain_streams``) waits until every poller has handled everything in its stream, so tests
are deterministic. ``DeliveryFaults`` lets a test make Lambda's at-least-once delivery happen on purpose.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local_stack import faults
from local_stack.provision import client
from local_stack.template import Template, TemplateError

if TYPE_CHECKING:
    from local_stack.destinations import Destinations
    from local_stack.functions import FunctionRegistry

log = logging.getLogger("local_stack.streams")

_UNSUPPORTED = ("TumblingWindowInSeconds",)


# --- what the template declares ------------------------------------------------------------
@dataclass(frozen=True)
class StreamMappingSpec:
    """One event source mapping: a function reading one table's stream."""

    name: str  # "<Function><Event>" (or the EventSourceMapping's logical id)
    function: str  # logical id
    table: str  # physical table name
    starting_position: str = "LATEST"
    batch_size: int = 100
    batching_window: float = 0.0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    on_failure: str | None = None
    report_batch_item_failures: bool = False
    filters: tuple[str, ...] = ()  # EventBridge-style patterns (JSON text)
    enabled: bool = True


def stream_mappings_from(template: Template) -> list[StreamMappingSpec]:
    """Every DynamoDB stream mapping of the template; what cannot be emulated raises TemplateError."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for lid, res in template.of_type("AWS::Serverless::Function").items():
        for event_id, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") == "DynamoDB":
                props = dict(event.get("Properties") or {})
                props["EventSourceArn"] = props.pop("Stream", None)
                found.append((f"{lid}{event_id}", lid, props))
    for lid, res in template.of_type("AWS::Lambda::EventSourceMapping").items():
        props = dict(res.get("Properties") or {})
        function = str(template.resolve(props.get("FunctionName", "")))
        function = function.split(":function:")[-1].split(":")[0]
        source = str(template.resolve(props.get("EventSourceArn", "")))
        if ":dynamodb:" in source:
            found.append((lid, function, props))
    specs = []
    for name, function, props in found:
        specs.append(_spec(template, name, function, props))
    return specs


def _spec(template: Template, name: str, function: str, raw: dict[str, Any]) -> StreamMappingSpec:
    props = template.resolve(raw)
    for key in _UNSUPPORTED:
        if key in props:
            raise TemplateError(f"{name}: {key} is not supported by the local event source mapping")
    position = str(props.get("StartingPosition", ""))
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise TemplateError(f"{name}: StartingPosition must be TRIM_HORIZON or LATEST for a DynamoDB stream "
                            f"(got {position or 'nothing'})")
    table_lid = _table_of(raw.get("EventSourceArn"))
    if table_lid is None or table_lid not in template.resources:
        raise TemplateError(f"{name}: the stream must be !GetAtt <Table>.StreamArn of a table in the template")
    table_props = template.resources[table_lid].get("Properties") or {}
    if not table_props.get("StreamSpecification"):
        raise TemplateError(f"{name}: table {table_lid} declares no StreamSpecification")
    batch_size = int(props.get("BatchSize", 100))
    if not 1 <= batch_size <= 10000:
        raise TemplateError(f"{name}: BatchSize must be 1..10000")
    on_failure = (((props.get("DestinationConfig") or {}).get("OnFailure")) or {}).get("Destination")
    filters = tuple(str(f["Pattern"]) if isinstance(f["Pattern"], str) else json.dumps(f["Pattern"])
                    for f in ((props.get("FilterCriteria") or {}).get("Filters") or []))
    enabled = props.get("Enabled", True) not in (False, "false", "False")
    return StreamMappingSpec(
        name=name, function=function, table=template.physical_name(table_lid), starting_position=position,
        batch_size=batch_size, batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        maximum_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
        on_failure=str(on_failure) if on_failure else None,
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        filters=filters, enabled=enabled)


def _table_of(stream: Any) -> str | None:
    """The logical id of the table behind ``!GetAtt Table.StreamArn`` (or ``Fn::GetAtt: [Table, StreamArn]``)."""
    if isinstance(stream, dict) and "Fn::GetAtt" in stream:
        parts = stream["Fn::GetAtt"]
        parts = parts if isinstance(parts, list) else str(parts).split(".", 1)
        return str(parts[0]) if len(parts) == 2 and parts[1] == "StreamArn" else None
    return None


# --- faults a test can inject ------------------------------------------------------------------
@dataclass
class DeliveryFaults:
    """Lambda delivers stream records at least once; these make the "more than once" happen on purpose.

    * ``duplicate_batches``: every batch that succeeded is delivered a second time, as a retry would;
    * ``crash_after_handler``: the next N invocations run the handler to completion and are then
      reported as failed (a crash or timeout after the work was done), so the batch is retried.
    """

    duplicate_batches: bool = False
    crash_after_handler: int = 0


@dataclass
class PollerStats:
    invocations: int = 0
    batches_succeeded: int = 0
    records_succeeded: int = 0
    batches_failed_over: int = 0  # batches sent to OnFailure (or dropped when none is declared)
    records_filtered_out: int = 0


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)  # fetched, not yet processed (in order)
    first_buffered: float = 0.0
    last_sequence: str | None = None  # the last record fetched
    position: str = "TRIM_HORIZON"  # where the first iterator started


# --- the poller ------------------------------------------------------------------------------------
class StreamPoller:
    """Lambda's event source mapping for one function and one table stream (one thread)."""

    def __init__(self, spec: StreamMappingSpec, registry: FunctionRegistry, destinations: Destinations,
                 endpoint: str, time_scale: float = 1.0, poll_interval: float = 0.1) -> None:
        self.spec = spec
        self.registry = registry
        self.destinations = destinations
        self.time_scale = time_scale
        self.poll_interval = poll_interval
        self.faults = DeliveryFaults()
        self.stats = PollerStats()
        self._ddb = client("dynamodb", endpoint)
        self._streams = client("dynamodbstreams", endpoint)
        self._cond = threading.Condition()
        self._activity = 0  # stream records appended to the table (emulator notification)
        self._seen = 0  # activity already fetched
        self._more = False  # the last fetch was full: fetch again without waiting
        self._busy = False
        self._paused = 0
        self._stopped = False
        self._initial = True  # StartingPosition applies to the stream that exists when the mapping is created
        self._stream_arn: str | None = None  # None: (re-)attach before the next fetch
        self._last_stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._matchers = [_matcher(p) for p in spec.filters]
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> StreamPoller:
        with contextlib.suppress(Exception):  # StartingPosition is where the stream is now (if it exists yet)
            self._attach()
        self._thread = threading.Thread(target=self._loop, name=f"stream-{self.spec.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=10)

    def notify(self, table: str) -> None:
        """The emulator appended a record to ``table``'s stream."""
        if table == self.spec.table:
            with self._cond:
                self._activity += 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def paused(self, timeout: float = 30.0) -> Iterator[None]:
        """No batch is delivered inside the block (the batch in flight, if any, finishes or is abandoned
        between retries first; its records stay at the head of the shard)."""
        with self._cond:
            self._paused += 1
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(0.05)
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1
                self._cond.notify_all()

    def restart(self) -> None:
        """The table was re-created (``LocalStack.reset``): forget the old stream, read the new one from its start."""
        with self._cond:
            self._stream_arn, self._last_stream_arn, self._shards, self._initial = None, None, {}, False
            self._more = False
            self._seen = self._activity - 1  # look again at once
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing buffered, nothing in flight, nothing appended to the stream that was not fetched."""
        with self._cond:
            return (not self.spec.enabled or self._stopped) or (
                not self._busy and self._activity == self._seen and not self._more
                and not any(s.buffer for s in self._shards.values()))

    def marker(self) -> tuple[int, int, int]:
        with self._cond:
            return self._activity, self.stats.invocations, self.stats.batches_failed_over

    # --- loop ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        faults.machinery_thread()  # a crash test's "outside functions" calls are the test's, not the poller's
        errors = 0
        while True:
            with self._cond:
                while not self._stopped and (self._paused or not self._has_work()):
                    self._cond.wait(self.poll_interval)
                if self._stopped:
                    return
                self._busy = True
            try:
                self._step()
                errors = 0
            except Exception:  # the emulator was reset or the table deleted: re-attach
                errors += 1
                log.debug("stream poller %s: re-attaching", self.spec.name, exc_info=True)
                with self._cond:
                    self._stream_arn = None
                    self._seen = self._activity - 1  # try again (after a growing pause)
                    self._cond.wait(min(5.0, self.poll_interval * 2 ** min(errors, 6)))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _has_work(self) -> bool:
        if not self.spec.enabled:
            return False
        if self._activity != self._seen or self._more:
            return True
        return any(s.buffer and self._batch_ready(s) for s in self._shards.values())

    def _batch_ready(self, shard: _Shard) -> bool:
        if len(shard.buffer) >= self.spec.batch_size or self.spec.batching_window <= 0:
            return True
        return time.monotonic() - shard.first_buffered >= self.spec.batching_window * self.time_scale

    def _step(self) -> None:
        with self._cond:
            fetch = self._activity != self._seen or self._more
            self._seen = self._activity
        if self._stream_arn is None and not self._attach():
            return
        if fetch:
            self._fetch()
        for shard in list(self._shards.values()):
            if shard.buffer and self._batch_ready(shard):
                batch = shard.buffer[: self.spec.batch_size]
                if self._deliver(shard, batch):
                    del shard.buffer[: len(batch)]
                    if shard.buffer:
                        shard.first_buffered = time.monotonic()

    def _attach(self) -> bool:
        """Find the table's current stream and an iterator per shard: where this mapping left off on the same
        stream, ``StartingPosition`` on the stream that existed when the mapping was created, else the start."""
        table = self._ddb.describe_table(TableName=self.spec.table)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn:
            return False
        same_stream = arn == self._last_stream_arn
        position = self.spec.starting_position if self._initial else "TRIM_HORIZON"
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", [])
        known = self._shards if same_stream else {}
        self._shards = {}
        for desc in shards:
            shard_id = desc["ShardId"]
            previous = known.get(shard_id)
            kwargs: dict[str, Any] = {"ShardIteratorType": position}
            if previous is not None and previous.last_sequence is not None:
                kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": previous.last_sequence}
            elif previous is not None:
                kwargs = {"ShardIteratorType": previous.position}
            iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **kwargs)["ShardIterator"]
            shard = _Shard(shard_id, iterator, position=kwargs["ShardIteratorType"])
            if previous is not None:
                shard.buffer, shard.first_buffered = previous.buffer, previous.first_buffered
                shard.last_sequence, shard.position = previous.last_sequence, previous.position
            self._shards[shard_id] = shard
        self._stream_arn = self._last_stream_arn = arn
        self._initial = False
        return True

    def _fetch(self) -> None:
        more = False
        for shard in self._shards.values():
            if shard.iterator is None:
                continue
            resp = self._streams.get_records(ShardIterator=shard.iterator, Limit=1000)
            shard.iterator = resp.get("NextShardIterator")
            records = [self._record(r) for r in resp.get("Records", [])]
            more = more or len(records) == 1000
            if records:
                shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
            kept = [r for r in records if self._matches(r)]
            self.stats.records_filtered_out += len(records) - len(kept)
            if kept and not shard.buffer:
                shard.first_buffered = time.monotonic()
            shard.buffer.extend(kept)
        self._more = more

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        record = _lambda_json(raw)
        record["eventVersion"] = "1.1"
        record["eventSourceARN"] = self._stream_arn
        return record

    def _matches(self, record: dict[str, Any]) -> bool:
        return not self._matchers or any(m.matches_event(record) for m in self._matchers)

    # --- one batch: invoke, retry, bisect, fail over ---------------------------------------------
    def _deliver(self, shard: _Shard, batch: list[dict[str, Any]]) -> bool:
        """Process ``batch`` to the end (success or failover); False if interrupted (stop/pause)."""
        pending: deque[tuple[list[dict[str, Any]], int]] = deque([(batch, 0)])
        duplicated = False
        while pending:
            if self._stopped or self._paused:
                return False  # the batch stays at the head of its shard
            records, failures = pending.popleft()
            records = self._drop_expired(shard, records, failures)
            if not records:
                continue
            ok, failed_from, error, request_id = self._invoke(records)
            if ok:
                if self.faults.duplicate_batches and not duplicated:
                    duplicated = True
                    pending.appendleft((records, failures))
                continue
            if failed_from > 0:  # partial batch failure: the records before it are done
                records = records[failed_from:]
            elif error is not None and self.spec.bisect_on_error and len(records) > 1:
                mid = len(records) // 2
                pending.extendleft([(records[mid:], failures), (records[:mid], failures)])
                continue
            failures += 1
            if 0 <= self.spec.maximum_retry_attempts < failures:
                self._fail_over(shard, records, failures, "RetryAttemptsExhausted", error, request_id)
                continue
            if not self._backoff(failures):
                return False
            pending.appendleft((records, failures))
        return True

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[bool, int, BaseException | None, str]:
        """(succeeded, index of the first failed record for a partial failure, error, request id)."""
        request_id = str(uuid.uuid4())
        with self._cond:
            self.stats.invocations += 1
        try:
            result = self.registry.invoke(self.spec.function, {"Records": records}, request_id=request_id)
        except Exception as exc:  # noqa: BLE001 - a function error: Lambda retries the batch
            log.warning("stream batch to %s failed (%d records from %s): %s: %s", self.spec.function, len(records),
                        records[0]["dynamodb"]["SequenceNumber"], type(exc).__name__, exc)
            return False, 0, exc, request_id
        if self.faults.crash_after_handler > 0:
            self.faults.crash_after_handler -= 1
            return False, 0, RuntimeError("injected crash after the handler returned"), request_id
        if self.spec.report_batch_item_failures and isinstance(result, dict) and result.get("batchItemFailures"):
            sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
            ids = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in result["batchItemFailures"]]
            if any(i not in sequence for i in ids):
                return False, 0, ValueError(f"batchItemFailures names records not in the batch: {ids}"), request_id
            return False, min(sequence.index(i) for i in ids), None, request_id
        with self._cond:
            self.stats.batches_succeeded += 1
            self.stats.records_succeeded += len(records)
        return True, 0, None, request_id

    def _backoff(self, failures: int) -> bool:
        delay = min(60.0, 0.5 * 2 ** (failures - 1)) * self.time_scale
        deadline = time.monotonic() + delay
        with self._cond:
            while not self._stopped and not self._paused:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self._cond.wait(remaining)
        return False

    def _drop_expired(self, shard: _Shard, records: list[dict[str, Any]], failures: int) -> list[dict[str, Any]]:
        if self.spec.maximum_record_age < 0:
            return records
        limit = time.time() - self.spec.maximum_record_age
        expired = [r for r in records if r["dynamodb"].get("ApproximateCreationDateTime", limit) < limit]
        if expired:
            self._fail_over(shard, expired, failures, "RecordAgeExceeded", None, "")
        return [r for r in records if r not in expired]

    def _fail_over(self, shard: _Shard, records: list[dict[str, Any]], attempts: int, condition: str,
                   error: BaseException | None, request_id: str) -> None:
        with self._cond:
            self.stats.batches_failed_over += 1
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error is not None:
            response["functionError"] = "Unhandled"
        record = {
            "requestContext": {"requestId": request_id, "functionArn": self.registry.template.arn(self.spec.function),
                               "condition": condition, "approximateInvokeCount": attempts},
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time(), millis=True),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime", 0)),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime", 0)),
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        where = self.spec.on_failure or "nowhere (no DestinationConfig.OnFailure)"
        log.error("stream mapping %s gave up on %d records (%s..%s, %s); batch info sent to %s", self.spec.name,
                  len(records), first["SequenceNumber"], last["SequenceNumber"], condition, where)
        if self.spec.on_failure:
            self.destinations.send(self.spec.on_failure, record)


# --- all mappings of the stack -------------------------------------------------------------------------
class EventSourceMappings:
    """Every stream poller of the stack. ``LocalStack.streams``; see the module docstring."""

    def __init__(self, destinations: Destinations, endpoint: str, time_scale: float = 1.0,
                 poll_interval: float = 0.1) -> None:
        self.destinations = destinations
        self.endpoint = endpoint
        self.time_scale = time_scale
        self.poll_interval = poll_interval
        self.pollers: list[StreamPoller] = []

    def add(self, template: Template, registry: FunctionRegistry) -> list[StreamPoller]:
        added = [StreamPoller(spec, registry, self.destinations, self.endpoint, self.time_scale,
                              self.poll_interval) for spec in stream_mappings_from(template)]
        self.pollers.extend(added)
        for poller in added:
            poller.start()
        return added

    def notify(self, table: str) -> None:
        for poller in self.pollers:
            poller.notify(table)

    def get(self, name: str) -> StreamPoller:
        """The poller of a mapping, by mapping name ("<Function><Event>") or function logical id (if it has one)."""
        matches = [p for p in self.pollers if p.spec.name == name] or \
                  [p for p in self.pollers if p.spec.function == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} stream mappings named or invoking {name!r}")
        return matches[0]

    @contextlib.contextmanager
    def faults(self, name: str, **faults: Any) -> Iterator[DeliveryFaults]:
        """``with stack.streams.faults("ProjectorFunction", duplicate_batches=True): ...``"""
        poller = self.get(name)
        saved = poller.faults
        poller.faults = DeliveryFaults(**faults)
        try:
            yield poller.faults
        finally:
            poller.faults = saved

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every poller has delivered (or failed over) every record of its stream, including
        records that the handlers themselves wrote to streamed tables meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            before = [p.marker() for p in self.pollers]
            if all(p.idle() for p in self.pollers) and before == [p.marker() for p in self.pollers]:
                return
            if time.monotonic() > deadline:
                busy = [p.spec.name for p in self.pollers if not p.idle()]
                raise TimeoutError(f"stream mappings still busy after {timeout}s: {busy}")
            time.sleep(0.005)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for poller in self.pollers:
                stack.enter_context(poller.paused())
            yield

    def restart(self) -> None:
        for poller in self.pollers:
            poller.restart()

    def stop(self) -> None:
        for poller in self.pollers:
            with poller._cond:
                poller._stopped = True
                poller._cond.notify_all()
        for poller in self.pollers:
            poller.stop()

    def describe(self) -> list[str]:
        lines = []
        for p in self.pollers:
            s = p.spec
            extras = [f"batch {s.batch_size}"]
            if s.bisect_on_error:
                extras.append("bisect")
            if s.report_batch_item_failures:
                extras.append("partial failures")
            if s.maximum_retry_attempts >= 0:
                extras.append(f"{s.maximum_retry_attempts} retries")
            if s.on_failure:
                extras.append(f"on failure -> {s.on_failure.rsplit(':', 1)[-1]}")
            state = "" if s.enabled else "  (DISABLED)"
            lines.append(f"{s.function:34} stream of {s.table} ({', '.join(extras)}){state}")
        return lines


# --- helpers -------------------------------------------------------------------------------------------
def _matcher(pattern: str) -> Any:
    from moto.events.models import EventPattern

    return EventPattern.load(pattern)


def _lambda_json(value: Any) -> Any:
    """boto3's view of a stream record -> the JSON Lambda sends (binary as base64, times as epoch seconds)."""
    if isinstance(value, dict):
        return {k: _lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_json(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return value


def _iso(epoch: float, millis: bool = False) -> str:
    text = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")
