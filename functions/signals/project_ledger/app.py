"""Ledger stream projector: folds new ENTRY items into their owners' activity profiles (exactly once in effect).

Powertools' batch utility reports each failed record (``ReportBatchItemFailures``); the mapping bisects a
failing batch, retries, then sends the batch's metadata to the DLQ, so a poison record never blocks the shard.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics, tracer
from shared.signals.settings import ProjectorSettings
from shared.signals.wiring import projector

SETTINGS = ProjectorSettings.load()  # at import: a misconfigured function fails its cold start
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    if record.event_name is None or record.event_name.name != "INSERT":  # the ledger is append-only
        return
    image = record.dynamodb.new_image if record.dynamodb else None
    if image and projector(SETTINGS).project(image):
        metrics.add_metric(name="LedgerEntryProjected", unit="Count", value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context))
