"""DynamoDB Streams event source mappings on the local stack (issue 10): the fixture template's two mappings.

``HarnessStreamRecorderFunction``: batch 4, TRIM_HORIZON, bisect on error, partial batch failures,
2 retries then the batch info to ``HarnessStreamFailures``. ``HarnessStreamPlainFunction``: Lambda's
defaults (whole-batch retries until success), LATEST, only INSERT and MODIFY records.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.stack import LocalStack
from local_stack.streams import stream_mappings_from
from local_stack.template import Template, TemplateError
from tests.harness.fixtures import observed

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"
RECORDER, PLAIN = "HarnessStreamRecorderFunction", "HarnessStreamPlainFunction"
TABLE = "HarnessStreamTable"


@pytest.fixture
def streams_stack(clean_stack: LocalStack) -> Iterator[LocalStack]:
    clean_stack.attach(FIXTURE)
    clean_stack.drain_streams()
    observed.clear()
    yield clean_stack
    observed.clear()


def put(stack: LocalStack, key: str, mode: str = "ok", **extra: Any) -> None:
    item = {"pk": {"S": key}, "mode": {"S": mode}, **{k: {"N": str(v)} for k, v in extra.items()}}
    stack.client("dynamodb").put_item(TableName=TABLE, Item=item)


def batches(function: str, prefix: str) -> list[list[str]]:
    """The keys of every batch the function received that hold this test's records."""
    return [[k for k in c["keys"] if k.startswith(prefix)] for c in observed.calls(function)
            if any(k.startswith(prefix) for k in c["keys"])]


def failures(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="HarnessStreamFailures")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_records_are_delivered_in_order_with_the_lambda_event_shape(streams_stack: LocalStack) -> None:
    stack = streams_stack
    # Given ten inserts, an update and a delete, one after the other
    p = f"o-{uuid.uuid4().hex[:6]}-"
    keys = [f"{p}{i:02}" for i in range(10)]
    for key in keys:
        put(stack, key)
    ddb = stack.client("dynamodb")
    ddb.update_item(TableName=TABLE, Key={"pk": {"S": keys[0]}}, UpdateExpression="SET note = :n",
                    ExpressionAttributeValues={":n": {"S": "updated"}})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": keys[1]}})

    # When the pollers have caught up
    stack.drain_streams()

    # Then the recorder got every change in order, at most 4 per batch, each batch once
    got = batches(RECORDER, p)
    assert [k for b in got for k in b] == [*keys, keys[0], keys[1]]
    assert all(1 <= len(b) <= 4 for b in got)
    records = [r for c in observed.calls(RECORDER) for r in c["records"]]
    assert [r["eventName"] for r in records] == ["INSERT"] * 10 + ["MODIFY", "REMOVE"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 12
    first, modify, remove = records[0], records[10], records[11]
    table_arn = stack.client("dynamodb").describe_table(TableName=TABLE)["Table"]["TableArn"]
    assert first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == "us-east-1"
    assert first["eventSourceARN"].startswith(f"{table_arn}/stream/")
    assert first["dynamodb"]["Keys"] == {"pk": {"S": keys[0]}}
    assert first["dynamodb"]["NewImage"] == {"pk": {"S": keys[0]}, "mode": {"S": "ok"}}
    assert "OldImage" not in first["dynamodb"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(first["dynamodb"]["SizeBytes"], int)
    assert abs(first["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 60
    assert modify["dynamodb"]["OldImage"] and modify["dynamodb"]["NewImage"]
    assert remove["dynamodb"]["OldImage"] and "NewImage" not in remove["dynamodb"]
    assert len({r["eventID"] for r in records}) == 12
    # And the plain mapping (filter: INSERT and MODIFY only) got the same order without the delete
    plain = [r for c in observed.calls(PLAIN) for r in c["records"]]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in plain] == [*keys, keys[0]]
    assert all(len(c["records"]) <= 10 for c in observed.calls(PLAIN))


def test_partial_batch_failure_retries_from_the_first_failed_record(streams_stack: LocalStack) -> None:
    stack = streams_stack
    # Given one batch of four whose second record is reported failed the first time
    p = f"pf-{uuid.uuid4().hex[:6]}-"
    with stack.streams.get(RECORDER).paused():
        put(stack, f"{p}a")
        put(stack, f"{p}b", "partial", fail_times=1)
        put(stack, f"{p}c")
        put(stack, f"{p}d")
    stack.drain_streams()
    # Then the records after the checkpoint are delivered again, from the failed one on; nothing failed over
    assert batches(RECORDER, p) == [[f"{p}a", f"{p}b", f"{p}c", f"{p}d"], [f"{p}b", f"{p}c", f"{p}d"]]
    assert failures(stack) == []


def test_a_poison_record_is_bisected_out_and_failed_over_without_blocking_the_shard(streams_stack: LocalStack) -> None:
    stack = streams_stack
    # Given a batch of four holding a record the function can never process, and a record after it
    p = f"poison-{uuid.uuid4().hex[:6]}-"
    with stack.streams.get(RECORDER).paused():
        for suffix, mode in (("0", "ok"), ("1", "poison"), ("2", "ok"), ("3", "ok")):
            put(stack, f"{p}{suffix}", mode)
    put(stack, f"{p}4")
    stack.drain_streams()

    # Then the batch is split until the poison record is alone, retried twice alone, then failed over
    got = batches(RECORDER, p)
    assert got[:3] == [[f"{p}0", f"{p}1", f"{p}2", f"{p}3"], [f"{p}0", f"{p}1"], [f"{p}0"]]
    assert got[3:6] == [[f"{p}1"]] * 3
    assert got[6:] == [[f"{p}2", f"{p}3"], [f"{p}4"]]  # the shard moved on
    # And the OnFailure queue holds the batch's metadata, as Lambda sends it
    (record,) = failures(stack)
    info = record["DDBStreamBatchInfo"]
    poison = next(r for c in observed.calls(RECORDER) for r in c["records"]
                  if r["dynamodb"]["Keys"]["pk"]["S"] == f"{p}1")
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 1 and info["streamArn"] == poison["eventSourceARN"]
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{RECORDER}")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert stack.streams.get(RECORDER).stats.batches_failed_over == 1


def test_a_crash_after_the_work_redelivers_the_same_batch(streams_stack: LocalStack) -> None:
    stack = streams_stack
    # Given the next invocation crashes after its handler did the work (a timeout, say)
    p = f"crash-{uuid.uuid4().hex[:6]}-"
    with stack.streams.get(PLAIN).paused():
        for i in range(3):
            put(stack, f"{p}{i}")
    with stack.streams.faults(PLAIN, crash_after_handler=1):
        stack.drain_streams()
    # Then the whole batch is delivered again: same records, same event ids and sequence numbers
    calls = [c for c in observed.calls(PLAIN) if c["keys"][0].startswith(p)]
    assert [c["keys"] for c in calls] == [[f"{p}0", f"{p}1", f"{p}2"]] * 2
    assert calls[0]["records"] == calls[1]["records"]
    assert calls[0]["request_id"] != calls[1]["request_id"]


def test_a_cancelled_transaction_leaves_no_stream_record(streams_stack: LocalStack) -> None:
    stack = streams_stack
    ddb = stack.client("dynamodb")
    p = f"tx-{uuid.uuid4().hex[:6]}-"
    put(stack, f"{p}guard", mode="ok")
    # Given a transaction whose first put succeeds in moto's item-by-item apply and whose second write fails
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"{p}written-then-undone"}, "mode": {"S": "ok"}}}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"{p}guard"}, "mode": {"S": "ok"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}])
    put(stack, f"{p}after", mode="ok")
    stack.drain_streams()
    # Then the stream shows the writes around it and nothing of the transaction, as on DynamoDB
    delivered = [k for batch in batches(PLAIN, p) for k in batch]
    assert delivered == [f"{p}guard", f"{p}after"]
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"{p}written-then-undone"}})


def test_every_batch_delivered_twice_on_purpose(streams_stack: LocalStack) -> None:
    stack = streams_stack
    # Lambda's at-least-once delivery, made to happen for a consumer's idempotency tests
    p = f"dup-{uuid.uuid4().hex[:6]}-"
    with stack.streams.faults(RECORDER, duplicate_batches=True):
        with stack.streams.get(RECORDER).paused():
            for i in range(6):
                put(stack, f"{p}{i}")
        stack.drain_streams()
    keys = [f"{p}{i}" for i in range(6)]
    assert batches(RECORDER, p) == [keys[:4], keys[:4], keys[4:], keys[4:]]


def test_reset_moves_the_pollers_to_the_new_stream(streams_stack: LocalStack) -> None:
    stack = streams_stack
    p = f"reset-{uuid.uuid4().hex[:6]}-"
    put(stack, f"{p}before")
    stack.drain_streams()
    old_arn = observed.calls(RECORDER)[-1]["records"][0]["eventSourceARN"]
    stack.reset()
    put(stack, f"{p}after")
    stack.drain_streams()
    assert batches(RECORDER, p) == [[f"{p}before"], [f"{p}after"]]
    assert observed.calls(RECORDER)[-1]["records"][0]["eventSourceARN"] != old_arn


def test_an_idle_poller_sleeps_and_a_write_wakes_it_at_once(streams_stack: LocalStack) -> None:
    stack = streams_stack
    poller = stack.streams.get(RECORDER)
    before = poller.marker()
    time.sleep(0.3)
    assert poller.marker() == before and poller.idle()  # nothing delivered, nothing fetched while idle
    p = f"lat-{uuid.uuid4().hex[:6]}-"
    latencies = []
    for i in range(5):
        start = time.monotonic()
        put(stack, f"{p}{i}")
        seen = observed.wait_for(RECORDER, i + 1, timeout=5)
        latencies.append(seen[-1]["at"] - start)
    assert max(latencies) < 0.5, latencies  # ~13 ms typically: the emulator wakes the poller


def _template(tmp_path: Path, event_props: str, stream: str = "StreamSpecification: {StreamViewType: KEYS_ONLY}") \
        -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(f"""
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{AttributeName: pk, AttributeType: S}}]
      KeySchema: [{{AttributeName: pk, KeyType: HASH}}]
      {stream}
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f/
      Handler: app.handler
      Events:
        S:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt T.StreamArn
            {event_props}
""")
    return Template(path)


@pytest.mark.parametrize(("props", "stream", "message"), [
    ("StartingPosition: LATEST\n            TumblingWindowInSeconds: 60", None, "TumblingWindowInSeconds"),
    ("BatchSize: 10", None, "StartingPosition"),
    ("StartingPosition: AT_TIMESTAMP", None, "StartingPosition"),
    ("StartingPosition: LATEST", "BillingMode: PAY_PER_REQUEST", "no StreamSpecification"),
])
def test_what_cannot_be_emulated_is_refused_when_the_stack_starts(tmp_path: Path, props: str, stream: str | None,
                                                                   message: str) -> None:
    template = _template(tmp_path, props, *([stream] if stream else []))
    with pytest.raises(TemplateError, match=message):
        stream_mappings_from(template)
