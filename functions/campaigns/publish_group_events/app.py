"""Groups stream -> EventBridge: publishes each new outbox item (GroupCreated, GroupJoined, GroupLeft) of the table.

The mapping's FilterCriteria deliver only INSERTs of ``OUTBOX#`` items; Powertools' batch utility reports each
record whose event EventBridge did not take (``ReportBatchItemFailures``), so it is redelivered; the mapping
bisects a failing batch, retries, then sends the batch's metadata to the DLQ. Delivery is at least once:
consumers deduplicate on ``detail.event_id`` (``shared/outbox.py``).
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics, tracer
from shared.outbox import OutboxPublisher, OutboxSettings, publish_record

SETTINGS = OutboxSettings.load()  # at import: a misconfigured function fails its cold start
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def publisher(bus_name: str) -> OutboxPublisher:
    return OutboxPublisher(bus_name)


def record_handler(record: DynamoDBRecord) -> None:
    if publish_record(publisher(SETTINGS.outbox_event_bus), record):
        metrics.add_metric(name="OutboxEventPublished", unit="Count", value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context))
