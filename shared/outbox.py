"""Transactional outbox: events written in the state change's own transaction, published from the table's stream.

Producer side: ``outbox_write(table, event, on_duplicate)`` is a ``GuardedWrite`` that puts the event once (by
``event_id``) as an ``OUTBOX#<event_id>`` / ``OUTBOX`` item of the capability's own table; the capability adds it
to the ``TransactWriteItems`` that records the change, so the event exists if and only if the change committed.
Event ids derive from the change's own id, so a retried change cannot write a second event.

Publisher side: ``OutboxPublisher.publish(image)`` turns the stream's NEW_IMAGE of an outbox item into one
``PutEvents`` entry (``detail.event_id`` is the event id) and raises ``OutboxPublishFailed`` when EventBridge did
not take it, so the stream record is reported failed and redelivered (Lambda's event source mapping, at least
once). The item is not updated afterwards: its ``expires_at`` (TTL) removes it, garbage collection only.

Redrive: a batch the mapping gave up on goes to the publisher's DLQ as batch metadata (``DDBStreamBatchInfo``:
shard, sequence range, arrival times), not the records. Its items stay in the table (7 days), so an operator
invokes the publisher with ``{"redrive": {"limit": n}}`` once the cause is fixed: for each DLQ message, the
outbox items created within the batch's arrival window (plus a margin) are read from the table and published
again, then the message is deleted (``redrive``). Events of the window that were not in the batch are published
again too: consumers deduplicate.

Consumer side: delivery is at least once (a redelivered stream batch publishes again, EventBridge itself
delivers at least once), so a consumer applies an event once by putting ``seen_write(...)`` (put-once by
consumer and event id) in the same transaction as its effect; ``AlreadySeen`` means "applied before".
PutEvents has no idempotency parameter: the event id in ``detail`` is the deduplication key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.aws import LazyClient
from shared.clock import iso
from shared.dynamo import from_item, to_item
from shared.settings import BaseSettings
from shared.writes import GuardedWrite

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_SK = "OUTBOX"
OUTBOX_RETENTION = timedelta(days=7)  # far beyond the stream's 24 h: TTL never removes an unpublished record
SEEN_RETENTION = timedelta(days=7)
REDRIVE_MARGIN = timedelta(minutes=1)  # an event's created_at precedes its stream record's arrival by the commit


def event_id_of(*parts: str) -> str:
    """A deterministic event id: the same change always names the same event."""
    return "evt_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class OutboxEvent(BaseModel):
    """One domain event as the outbox item holds it (no personal data: ids, amounts, types)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    detail_type: str = Field(min_length=1, max_length=128)
    detail: dict[str, Any]
    created_at: datetime

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The ``PutEvents`` entry: ``detail.event_id`` is what consumers deduplicate on."""
        return {"Source": self.source, "DetailType": self.detail_type, "EventBusName": bus_name,
                "Time": self.created_at,
                "Detail": json.dumps({**self.detail, "event_id": self.event_id}, default=str,
                                     separators=(",", ":"))}


def domain_event(source: str, detail_type: str, detail: Mapping[str, Any], at: datetime,
                 *identity: str) -> OutboxEvent:
    """An event whose id derives from what it is about (``identity``: the change's own ids), so the same change
    always names the same event and a replayed change cannot write a second one."""
    return OutboxEvent(event_id=event_id_of(source, detail_type, *identity), source=source,
                       detail_type=detail_type, detail=dict(detail), created_at=at)


class DuplicateEvent(RuntimeError):
    """An outbox item with this event id exists although the change's own conditions passed: two different
    changes named the same event (a bug in the event's identity, never a client's doing)."""


def outbox_writes(table: str, events: Iterable[OutboxEvent], ttl_attribute: str = "expires_at") -> list[GuardedWrite]:
    """The outbox puts of ``events``, for a capability whose change's own conditions decide replays."""
    return [outbox_write(table, e, _duplicate(e.event_id), ttl_attribute) for e in events]


def _duplicate(event_id: str) -> Callable[[], Exception]:
    return lambda: DuplicateEvent(event_id)


def outbox_write(table: str, event: OutboxEvent, on_duplicate: Callable[[], Exception],
                 ttl_attribute: str = "expires_at") -> GuardedWrite:
    """Put the event once, in the caller's transaction; a second put of the same id raises ``on_duplicate()``.
    ``ttl_attribute``: the table's TTL attribute (another name where ``expires_at`` means something else)."""
    item = to_item({"pk": f"{OUTBOX_PREFIX}{event.event_id}", "sk": OUTBOX_SK, "entity": "OUTBOX",
                    "event_id": event.event_id, "source": event.source, "detail_type": event.detail_type,
                    "detail": json.dumps(event.detail, default=str, separators=(",", ":")),
                    "created_at": iso(event.created_at),
                    ttl_attribute: int((event.created_at + OUTBOX_RETENTION).timestamp())})
    put = {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return GuardedWrite.failing_with(put, on_duplicate)


class PoisonOutboxRecord(ValueError):
    """An outbox item the publisher cannot read (fails; after the mapping's retries its batch goes to the DLQ)."""


class OutboxPublishFailed(RuntimeError):
    """EventBridge did not take the event: the record is reported failed and redelivered."""


def event_from_image(image: Mapping[str, Any]) -> OutboxEvent | None:
    """The event of a stream NEW_IMAGE (plain values); None when the item is not an outbox item."""
    if image.get("entity") != "OUTBOX":
        return None
    try:
        return OutboxEvent.model_validate({**image, "detail": json.loads(str(image.get("detail", "")))})
    except (ValidationError, ValueError) as exc:
        raise PoisonOutboxRecord(f"unreadable outbox item: {type(exc).__name__}") from None


class OutboxPublisher:
    """Puts one outbox event to the bus; raises unless EventBridge accepted it."""

    client = LazyClient("events")

    def __init__(self, bus_name: str, client: Any = None) -> None:
        self.bus_name = bus_name
        self.client = client

    def publish(self, event: OutboxEvent) -> None:
        try:
            response = self.client.put_events(Entries=[event.entry(self.bus_name)])
        except (BotoCoreError, ClientError) as exc:
            raise OutboxPublishFailed(type(exc).__name__) from exc
        if int(response.get("FailedEntryCount", 0)):
            code = (response.get("Entries") or [{}])[0].get("ErrorCode", "FailedEntry")
            raise OutboxPublishFailed(str(code))


class AlreadySeen(Exception):
    """The consumer applied this event before (its seen marker exists)."""


def seen_write(table: str, consumer: str, event_id: str, now: datetime) -> GuardedWrite:
    """A consumer's put-once marker for an event (``SEEN#<consumer>#<event id>``), to commit with its effect."""
    item = to_item({"pk": f"SEEN#{consumer}#{event_id}", "sk": "SEEN", "entity": "SEEN", "consumer": consumer,
                    "event_id": event_id, "expires_at": int((now + SEEN_RETENTION).timestamp())})
    put = {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return GuardedWrite.failing_with(put, lambda: AlreadySeen(event_id))


def publish_record(publisher: OutboxPublisher, record: DynamoDBRecord) -> bool:
    """A publisher function's record handler: the INSERT of an outbox item becomes one event on the bus
    (anything else is skipped: False). Raises ``OutboxPublishFailed`` / ``PoisonOutboxRecord`` so the batch
    utility reports the record failed and the mapping redelivers it (then its DLQ)."""
    if record.event_name is None or record.event_name.name != "INSERT":  # outbox items are put once
        return False
    image = record.dynamodb.new_image if record.dynamodb else None
    event = event_from_image(image) if image else None
    if event is None:
        return False
    publisher.publish(event)
    return True


class OutboxRedrive:
    """Publishes again what a publisher's DLQ names (see the module docstring); returns what it did."""

    dynamodb = LazyClient("dynamodb")
    sqs = LazyClient("sqs")

    def __init__(self, publisher: OutboxPublisher, table: str, queue_url: str, dynamodb: Any = None,
                 sqs: Any = None) -> None:
        self.publisher = publisher
        self.table = table
        self.queue_url = queue_url
        self.dynamodb = dynamodb
        self.sqs = sqs

    def events_between(self, start: datetime, end: datetime) -> list[OutboxEvent]:
        """The table's outbox items created in [start, end] (a Scan: a rare operator's action, not a hot path)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True,
            "FilterExpression": "entity = :o AND created_at BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":o": {"S": "OUTBOX"}, ":a": {"S": iso(start)}, ":b": {"S": iso(end)}}}
        events: list[OutboxEvent] = []
        while True:
            page = self.dynamodb.scan(**kwargs)
            events += [e for e in (event_from_image(from_item(i)) for i in page.get("Items", [])) if e is not None]
            if "LastEvaluatedKey" not in page:
                return sorted(events, key=lambda e: e.created_at)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def run(self, limit: int) -> dict[str, int]:
        """Up to ``limit`` DLQ messages: each one's events published again, then the message deleted. A message
        that names no batch is left in the queue (``unreadable``); a failed publish raises and leaves it too."""
        done = {"batches": 0, "published": 0, "unreadable": 0}
        while done["batches"] + done["unreadable"] < limit:
            wanted = min(10, limit - done["batches"] - done["unreadable"])
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=wanted,
                                                VisibilityTimeout=300).get("Messages", [])
            if not messages:
                break
            for message in messages:
                window = batch_window(message.get("Body", ""))
                if window is None:
                    done["unreadable"] += 1
                    continue
                for event in self.events_between(*window):
                    self.publisher.publish(event)
                    done["published"] += 1
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                done["batches"] += 1
        return done


def batch_window(body: str) -> tuple[datetime, datetime] | None:
    """The arrival window of the batch a DLQ message describes, widened by ``REDRIVE_MARGIN``; None if unreadable."""
    try:
        info = json.loads(body)["DDBStreamBatchInfo"]
        first = datetime.fromisoformat(str(info["approximateArrivalOfFirstRecord"]).replace("Z", "+00:00"))
        last = datetime.fromisoformat(str(info["approximateArrivalOfLastRecord"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None
    return (first.astimezone(UTC) - REDRIVE_MARGIN, last.astimezone(UTC) + REDRIVE_MARGIN)


def stream_publisher(settings: OutboxSettings) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of a table's publisher function (one per outboxed table, the same code): each record
    the mapping delivers goes through ``publish_record``; Powertools' batch utility reports the failed ones
    (``ReportBatchItemFailures``), so only they are redelivered, and the mapping bisects, retries, then DLQs."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from shared.observability import logger, metrics, tracer

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    publisher = OutboxPublisher(settings.outbox_event_bus)

    def record_handler(record: DynamoDBRecord) -> None:
        if publish_record(publisher, record):
            metrics.add_metric(name="OutboxEventPublished", unit="Count", value=1)

    @logger.inject_lambda_context
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if "redrive" in event:  # an operator's invocation, not the stream's
            limit = int((event.get("redrive") or {}).get("limit", 10))
            done = OutboxRedrive(publisher, settings.outbox_table, settings.outbox_dlq_url).run(max(1, limit))
            logger.info("outbox redrive", extra=done)
            metrics.add_metric(name="OutboxEventRedriven", unit="Count", value=done["published"])
            return done
        return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                             context=context))

    return lambda_handler


class OutboxSettings(BaseSettings):
    """A publisher function's environment: the bus its table's events go to."""

    outbox_event_bus: str = Field(min_length=1)
    # The redrive (``{"redrive": {"limit": n}}``): the table whose outbox this function publishes, and its DLQ.
    outbox_table: str = Field(min_length=1)
    outbox_dlq_url: str = Field(min_length=1)
