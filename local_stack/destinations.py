"""Where the local Lambda service sends what it could not (or did) process: SQS, SNS, EventBridge, Lambda.

One sender for every failure path that AWS defines, so they all behave alike:

* asynchronous invocations: ``EventInvokeConfig.DestinationConfig.OnSuccess/OnFailure`` (an invocation
  record) and the function's ``DeadLetterQueue`` (the event itself, with ``RequestID``/``ErrorCode``/
  ``ErrorMessage`` message attributes);
* EventBridge rule targets and schedules: the target's ``DeadLetterConfig`` (the event, with
  ``RULE_ARN``/``TARGET_ARN``/``ERROR_CODE``/``ERROR_MESSAGE`` attributes);
* stream event source mappings: ``DestinationConfig.OnFailure`` (the batch's metadata,
  ``DDBStreamBatchInfo``).

A destination that cannot be reached is logged, never raised: on AWS a lost failure record does not
fail anything else either.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from local_stack.provision import client

log = logging.getLogger("local_stack.destinations")

AsyncSubmit = Callable[[str, Any], Any]
"""(function name or ARN, event) -> anything: queue an asynchronous Lambda invocation."""


class Destinations:
    """Sends a record to a destination ARN on the emulator."""

    def __init__(self, endpoint: str, submit_async: AsyncSubmit | None = None) -> None:
        self.endpoint = endpoint
        self.submit_async = submit_async
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:  # boto3 clients are thread-safe to use, not to create
            if service not in self._clients:
                self._clients[service] = client(service, self.endpoint)
            return self._clients[service]

    def send(self, arn: str, record: Any, attributes: dict[str, str] | None = None,
             detail_type: str = "Lambda Function Invocation Result - Failure") -> bool:
        """Deliver ``record`` to ``arn``; True if it was accepted. ``attributes`` become SQS/SNS message
        attributes; ``detail_type`` is used for an EventBridge bus destination."""
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        body = json.dumps(record, default=str)
        attrs = {k: {"DataType": "String", "StringValue": str(v)} for k, v in (attributes or {}).items() if v}
        try:
            if service == "sqs":
                sqs = self._client("sqs")
                url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
            elif service == "sns":
                self._client("sns").publish(TopicArn=arn, Message=body, MessageAttributes=attrs)
            elif service == "events":
                self._client("events").put_events(Entries=[{
                    "Source": "lambda", "DetailType": detail_type, "Detail": body,
                    "EventBusName": arn, "Resources": []}])
            elif service == "lambda" and self.submit_async is not None:
                self.submit_async(arn, record)
            else:
                log.error("destination %s is not supported locally; record dropped", arn)
                return False
        except Exception:  # a lost failure record is logged, as on AWS
            log.exception("could not deliver to destination %s", arn)
            return False
        return True
