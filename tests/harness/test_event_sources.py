"""Schedules, EventBridge rules and Lambda's asynchronous invocation queue on the local stack (issue 9 item 15).

Fixture: ``HarnessTickFunction`` (a ``Schedule`` and a ``ScheduleV2`` with an ``Input``; 1 retry, then
``HarnessAsyncFailures``), ``HarnessOnEventFunction`` (an ``EventBridgeRule`` on ``HarnessBus``; Lambda's
default 2 retries, then its ``DeadLetterQueue``), ``HarnessMissingTargetRule`` (a rule whose Lambda target
does not exist; its ``DeadLetterConfig``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_stack.schedules import Expression
from local_stack.stack import LocalStack
from local_stack.template import TemplateError
from tests.harness.fixtures import observed

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"
TICK, ON_EVENT = "HarnessTickFunction", "HarnessOnEventFunction"


@pytest.fixture
def sources(clean_stack: LocalStack) -> Iterator[LocalStack]:
    clean_stack.attach(FIXTURE)
    observed.clear()
    yield clean_stack
    observed.clear()


def messages(stack: LocalStack, queue: str, wait: float = 0.0) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + wait
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", [])
        if got or time.monotonic() >= deadline:
            return got
        time.sleep(0.02)


def put_probe(stack: LocalStack, source: str = "harness.test", **detail: Any) -> None:
    reply = stack.client("events").put_events(Entries=[{
        "Source": source, "DetailType": "Probe", "Detail": json.dumps(detail), "EventBusName": "HarnessBus"}])
    assert reply["FailedEntryCount"] == 0


# --- schedules ------------------------------------------------------------------------------------
def test_schedules_fire_by_themselves_with_what_aws_sends(sources: LocalStack) -> None:
    # The session stack's schedule clock runs 10x as fast: rate(1 minute) fires every 6 s, untouched
    events = [c["event"] for c in observed.wait_for(TICK, 2, timeout=20)]
    while not ({"probe": "v2"} in events and any("source" in e for e in events)):
        events = [c["event"] for c in observed.wait_for(TICK, len(events) + 1, timeout=20)]
    scheduled = next(e for e in events if isinstance(e, dict) and e.get("source") == "aws.events")
    assert scheduled["detail-type"] == "Scheduled Event" and scheduled["detail"] == {}
    assert scheduled["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/HarnessTickFunctionTick"]
    assert scheduled["account"] == "123456789012" and scheduled["region"] == "us-east-1"
    assert datetime.strptime(scheduled["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert {"probe": "v2"} in events  # the ScheduleV2's Input, exactly


def test_a_failing_scheduled_invocation_is_retried_then_sent_to_on_failure(sources: LocalStack) -> None:
    # Given the tick function fails, when its schedule fires
    observed.control["fail_ticks"] = True
    with sources.scheduler.paused():  # only the firing below
        request_id = sources.scheduler.fire("HarnessTickFunctionTick")
        sources.drain()
    # Then Lambda retried it once (MaximumRetryAttempts: 1) with the same request id ...
    attempts = [c for c in observed.calls(TICK) if c["request_id"] == request_id]
    assert len(attempts) == 2
    # ... and sent the invocation record to the OnFailure destination, not to the schedule's own DLQ
    (message,) = [m for m in messages(sources, "HarnessAsyncFailures")
                  if json.loads(m["Body"])["requestContext"]["requestId"] == request_id]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(f":function:{TICK}:$LATEST")
    assert record["requestPayload"] == attempts[0]["event"]
    assert record["responsePayload"]["errorType"] == "TickFailed"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert messages(sources, "HarnessTickFunctionTickV2Queue") == []  # delivery worked; that DLQ is for delivery


def test_schedule_expressions() -> None:
    t = datetime(2026, 11, 29, 10, 7, 30, tzinfo=UTC)  # a Sunday
    assert Expression.parse("rate(5 minutes)").next_after(t) == datetime(2026, 11, 29, 10, 12, 30, tzinfo=UTC)
    assert Expression.parse("rate(1 day)").period == 86400
    assert Expression.parse("cron(0/15 * * * ? *)").next_after(t) == datetime(2026, 11, 29, 10, 15, tzinfo=UTC)
    assert Expression.parse("cron(0 2 ? * MON-FRI *)").next_after(t) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert Expression.parse("cron(30 9 1 JAN,JUL ? *)").next_after(t) == datetime(2027, 1, 1, 9, 30, tzinfo=UTC)
    assert Expression.parse("cron(0 12 ? * 1 *)").next_after(t) == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # SUN
    shanghai = Expression.parse("cron(0 8 * * ? *)", "Asia/Shanghai")
    assert shanghai.next_after(t) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert Expression.parse("at(2026-12-01T00:00:00)").next_after(t) == datetime(2026, 12, 1, tzinfo=UTC)
    assert Expression.parse("at(2026-01-01T00:00:00)").next_after(t) is None
    for bad in ("cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "cron(0 0 * * * *)", "rate(0 minutes)",
                "rate(1 week)", "cron(0 0 * *)"):
        with pytest.raises(TemplateError):
            Expression.parse(bad, where="BadFunction.Events.Tick")


# --- EventBridge rules ----------------------------------------------------------------------------------
def test_a_rule_delivers_matching_events_with_the_envelope(sources: LocalStack) -> None:
    run = uuid.uuid4().hex[:8]
    # Given events that match the pattern (prefix, anything-but) and events that do not
    put_probe(sources, kind=f"ok-{run}", channel="web")
    put_probe(sources, kind=f"no-{run}", channel="web")  # prefix fails
    put_probe(sources, kind=f"ok-{run}-blocked", channel="blocked")  # anything-but fails
    put_probe(sources, source="harness.other", kind=f"ok-{run}-other", channel="web")  # source fails
    sources.drain()
    # Then only the matching one reached the function, as EventBridge's envelope
    (call,) = [c for c in observed.calls(ON_EVENT) if run in c["event"]["detail"]["kind"]]
    event = call["event"]
    assert event["detail"] == {"kind": f"ok-{run}", "channel": "web"}
    assert (event["source"], event["detail-type"], event["version"]) == ("harness.test", "Probe", "0")
    assert event["account"] == "123456789012" and event["region"] == "us-east-1" and event["id"]
    assert datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_a_failing_rule_target_is_retried_then_dead_lettered(sources: LocalStack) -> None:
    run = uuid.uuid4().hex[:8]
    put_probe(sources, kind=f"ok-{run}", channel="web", fail=True)
    sources.drain()
    # Lambda's async defaults: 2 retries (same request id), then the function's DeadLetterQueue
    attempts = [c for c in observed.calls(ON_EVENT) if c["event"]["detail"]["kind"] == f"ok-{run}"]
    assert len(attempts) == 3 and len({c["request_id"] for c in attempts}) == 1
    (message,) = messages(sources, "HarnessFunctionDLQ")
    assert json.loads(message["Body"]) == attempts[0]["event"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RequestID"] == attempts[0]["request_id"]
    assert "ProbeFailed" in attributes["ErrorMessage"]


def test_an_event_for_a_missing_function_goes_to_the_target_dead_letter_queue(sources: LocalStack) -> None:
    put_probe(sources, source="harness.missing", kind="anything")
    (message,) = messages(sources, "HarnessRuleDLQ", wait=5)
    assert json.loads(message["Body"])["detail"] == {"kind": "anything"}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"].endswith(":rule/HarnessBus/HarnessMissingTargetRule")
    assert attributes["TARGET_ARN"].endswith(":function:HarnessNoSuchFunction")
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"


def test_invoke_with_invocation_type_event_goes_through_the_async_queue(sources: LocalStack) -> None:
    run = uuid.uuid4().hex[:8]
    event = {"detail": {"kind": f"direct-{run}", "fail": True}}
    reply = sources.client("lambda").invoke(FunctionName=ON_EVENT, InvocationType="Event",
                                            Payload=json.dumps(event).encode())
    assert reply["StatusCode"] in (200, 202)
    sources.drain()
    assert len([c for c in observed.calls(ON_EVENT) if c["event"] == event]) == 3
    (message,) = messages(sources, "HarnessFunctionDLQ")
    assert json.loads(message["Body"]) == event
