"""Events exactly once in effect: the transactional outbox (issue 14; the ledger first, then each capability).

A transfer writes its ``TransferCompleted`` event in its own ``TransactWriteItems`` (``OUTBOX#`` item of the
Ledger table); ``PublishLedgerEventsFunction`` puts it to ``LedgerEventBus`` from the table's stream. A queue
subscribed to the bus counts what was published; a consumer built like the platform's consumers should be
(``shared.outbox.seen_write`` committed with its effect) shows that at-least-once delivery applies once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack import LocalStack
from local_stack.faults import Call, CrashAt, Interceptor, _json_error, intercept
from shared.dynamo import from_item
from shared.outbox import AlreadySeen, seen_write
from shared.writes import transact
from tests.binding.conftest import (  # noqa: F401 (callbacks: a fixture)
    CallbackServer,
    callbacks,
    card_token,
    create_partner,
    forget_data_keys,
    id_number,
    phone,
    stop_running,
)
from tests.conftest import Api, User, new_key
from tests.reliability import invariants

BUS = "LedgerEventBus"
PUBLISHER = "PublishLedgerEventsFunction"
MAPPING = "PublishLedgerEventsFunctionLedgerOutbox"
CONSUMER_TABLE = "OutboxConsumerProbe"


def bus_probe(stack: LocalStack, bus: str = BUS, source: str = "wallet.ledger"
              ) -> Callable[[], list[dict[str, Any]]]:
    """A queue subscribed to every event of ``source`` on ``bus``; returns a function draining what arrived so
    far."""
    sqs, events = stack.client("sqs"), stack.client("events")
    name = source.replace(".", "-") + "-probe"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        while True:
            msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return seen
            seen += [json.loads(m["Body"]) for m in msgs]
            for m in msgs:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    return drain


class CreditTally:
    """A consumer of TransferCompleted: adds each credited amount to a per-account total, once per event id (the
    seen marker and the effect in one transaction)."""

    def __init__(self, stack: LocalStack) -> None:
        self.client = stack.client("dynamodb")
        self.client.create_table(TableName=CONSUMER_TABLE, BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                       {"AttributeName": "sk", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                            {"AttributeName": "sk", "KeyType": "RANGE"}])

    def apply(self, event: dict[str, Any]) -> bool:
        detail = event["detail"]
        add = {"Update": {"TableName": CONSUMER_TABLE,
                          "Key": {"pk": {"S": f"TALLY#{detail['credit_account_id']}"}, "sk": {"S": "TALLY"}},
                          "UpdateExpression": "ADD credited :amt",
                          "ExpressionAttributeValues": {":amt": {"N": str(detail["amount"])}}}}
        try:
            transact(self.client, [seen_write(CONSUMER_TABLE, "credit-tally", detail["event_id"],
                                              datetime.now(UTC))], before=[add])
        except AlreadySeen:
            return False
        return True

    def credited(self, account_id: str) -> int:
        item = self.client.get_item(TableName=CONSUMER_TABLE, ConsistentRead=True,
                                    Key={"pk": {"S": f"TALLY#{account_id}"}, "sk": {"S": "TALLY"}}).get("Item")
        return int(from_item(item)["credited"]) if item else 0


def settled(api: Api) -> tuple[User, User, Callable[[], list[dict[str, Any]]]]:
    """Two users (the deposit's own event already published and drained) and the bus probe."""
    payer, payee = api.user(balance=10_000), api.user()
    drain = bus_probe(api.stack)
    api.stack.drain_streams(timeout=20)
    drain()
    return payer, payee, drain


def transfer(api: Api, payer: User, payee: User, amount: int) -> str:
    reply = api.call("POST", "/transfers", {"to_account_id": payee.account_id,
                                            "amount": {"amount": amount, "currency": "CNY"}},
                     token=payer.token, key=new_key())
    assert reply.status == 201, reply.body
    return str(reply.body["transaction_id"])


def of(events: list[dict[str, Any]], tx_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["detail-type"] == "TransferCompleted" and e["detail"]["transaction_id"] == tx_id]


def test_a_transfer_publishes_exactly_one_event_written_in_its_transaction(api: Api) -> None:
    # Given two users
    payer, payee, drain = settled(api)
    # When one pays the other, and the client retries the request with the same Idempotency-Key
    key = new_key()
    body = {"to_account_id": payee.account_id, "amount": {"amount": 250, "currency": "CNY"}}
    first = api.call("POST", "/transfers", body, token=payer.token, key=key)
    again = api.call("POST", "/transfers", body, token=payer.token, key=key)
    assert first.status == again.status == 201, (first.body, again.body)
    tx_id = first.body["transaction_id"]
    api.stack.drain_streams(timeout=20)
    # Then exactly one TransferCompleted is on the bus, with its event id and the transfer's facts
    published = of(drain(), tx_id)
    assert len(published) == 1, published
    detail = published[0]["detail"]
    assert detail["event_id"].startswith("evt_")
    assert (detail["debit_account_id"], detail["credit_account_id"], detail["amount"], detail["currency"]) == (
        payer.account_id, payee.account_id, 250, "CNY")
    # And the event is the outbox item the transfer's transaction wrote (TTL removes it later)
    ledger = api.stack.client("dynamodb")
    items = ledger.query(TableName="LedgerTable", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{detail['event_id']}"}})["Items"]
    assert len(items) == 1 and int(items[0]["expires_at"]["N"]) > datetime.now(UTC).timestamp()


def test_a_redelivered_batch_publishes_again_but_the_consumer_applies_it_once(api: Api) -> None:
    # Given two users and a consumer that tallies credits
    payer, payee, drain = settled(api)
    tally = CreditTally(api.stack)
    # When the transfer's stream batch is delivered twice (Lambda's at-least-once delivery)
    with api.stack.streams.faults(MAPPING, duplicate_batches=True):
        tx_id = transfer(api, payer, payee, 300)
        api.stack.drain_streams(timeout=20)
    # Then the event was published twice, under one event id
    published = of(drain(), tx_id)
    assert len(published) == 2, published
    assert len({e["detail"]["event_id"] for e in published}) == 1
    # And the consumer applies it once
    assert [tally.apply(e) for e in published] == [True, False]
    assert tally.credited(payee.account_id) == 300


class BusDown(Interceptor):
    """EventBridge refuses every ``PutEvents`` of the watched functions (an outage, a broken bus policy)."""

    def before_send(self, call: Call, request: Any) -> Any:
        if call.service == "events" and self.watches(call):
            return _json_error(400, "AccessDeniedException", "the bus refuses events (test)")
        return None


def test_a_batch_given_up_on_is_published_by_the_redrive(api: Api) -> None:
    # Given two users, a consumer, and EventBridge refusing the publisher's events
    payer, payee, drain = settled(api)
    tally = CreditTally(api.stack)
    with intercept(BusDown(functions={PUBLISHER})):
        tx_id = transfer(api, payer, payee, 500)
        api.stack.drain_streams(timeout=30)
    # Then the mapping retried, bisected and gave up: the batch's metadata is in the DLQ, nothing was published
    assert api.stack.streams.get(MAPPING).stats.batches_failed_over == 1
    assert of(drain(), tx_id) == []
    # When the operator redrives once the bus is back
    done = api.stack.invoke(PUBLISHER, {"redrive": {"limit": 5}})
    # Then the transfer's event is published (with any other event of the batch's window), the DLQ is empty,
    # and the consumer applies it once however often it arrives
    assert done["batches"] == 1 and done["published"] >= 1 and done["unreadable"] == 0, done
    published = of(drain(), tx_id)
    assert len(published) == 1 and sum(tally.apply(e) for e in published + published) == 1
    assert tally.credited(payee.account_id) == 500
    assert api.stack.invoke(PUBLISHER, {"redrive": {}}) == {"batches": 0, "published": 0, "unreadable": 0}
    # (the poller's failover count lives as long as the process and the events invariant requires 0: the batch
    # was redriven, so it no longer counts as given up on for the tests after this one)
    api.stack.streams.get(MAPPING).stats.batches_failed_over -= done["batches"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_publisher_crash_after_the_commit_loses_nothing(api: Api, when: str) -> None:
    # Given two users and a consumer
    payer, payee, drain = settled(api)
    tally = CreditTally(api.stack)
    # When the transfer commits and the publisher dies at its PutEvents: before sending it (nothing published),
    # or after EventBridge took it and before the function could report success
    with intercept(CrashAt(1, when, functions={PUBLISHER})) as crash:
        tx_id = transfer(api, payer, payee, 400)
        api.stack.drain_streams(timeout=20)
    assert crash.crashed is not None and crash.crashed.operation == "PutEvents"
    # Then the redelivered record published it: once if the crash came first, twice (same event id) otherwise
    published = of(drain(), tx_id)
    assert len(published) == (1 if when == "before" else 2), published
    assert len({e["detail"]["event_id"] for e in published}) == 1
    # And the consumer applied it exactly once
    assert sum(tally.apply(e) for e in published) == 1
    assert tally.credited(payee.account_id) == 400
    assert api.stack.streams.get(MAPPING).stats.batches_failed_over == 0


def test_campaign_events_are_written_with_their_change_and_published_once(api: Api) -> None:
    """Campaign created, interaction recorded (and its replay), voucher claimed and passed: each change's event
    is in the Campaigns table's outbox once, and reaches the default bus once (a replayed interaction, which
    changes nothing, writes and publishes nothing)."""
    from tests.campaigns.helpers import claim, create_campaign, interact

    stack = api.stack
    drain = bus_probe(stack, "default", "wallet.campaigns")
    user = api.user()
    campaign_id = create_campaign(api)["campaign_id"]
    assert interact(api, campaign_id, user.sub, "int-outbox-1").status in (200, 201)
    assert interact(api, campaign_id, user.sub, "int-outbox-1").status in (200, 201)  # a replay
    reply = claim(api, campaign_id, user.token)
    assert reply.status == 201, reply.body
    voucher_id = reply.body["voucher"]["voucher_id"]
    reply = api.call("POST", f"/campaigns/{campaign_id}/vouchers/{voucher_id}/pass", token=user.token, key=new_key())
    assert reply.status in (200, 201), reply.body
    stack.drain_streams(timeout=20)
    mine = [e for e in drain() if e["detail"].get("campaign_id") == campaign_id]
    assert sorted(e["detail-type"] for e in mine) == ["CampaignCreated", "InteractionRecorded", "VoucherClaimed",
                                                       "VoucherPassed"]
    assert len({e["detail"]["event_id"] for e in mine}) == 4
    claimed = next(e["detail"] for e in mine if e["detail-type"] == "VoucherClaimed")
    assert (claimed["voucher_id"], claimed["holder"]) == (voucher_id, user.sub)
    outbox = [from_item(i) for i in stack.client("dynamodb").scan(
        TableName="CampaignsTable", FilterExpression="entity = :o",
        ExpressionAttributeValues={":o": {"S": "OUTBOX"}})["Items"]]
    assert sorted(i["event_id"] for i in outbox if json.loads(i["detail"]).get("campaign_id") == campaign_id) == \
        sorted(e["detail"]["event_id"] for e in mine)


def test_binding_and_partner_events_are_written_with_their_change_and_published_once(
        api: Api, callbacks: CallbackServer) -> None:  # noqa: F811
    """A partner bank created and suspended, a new customer bound through the whole saga: each change's event is
    in the Bindings table's outbox once (the partner's too: one stream for the capability) and reaches
    ``BindingEventBus`` once, with the ids and states only (no phone, name, ID number or card token)."""
    stack = api.stack
    drain = bus_probe(stack, "BindingEventBus", "wallet.binding")
    forget_data_keys()
    bank = create_partner(api, callbacks, "Probe Bank")  # after the probe: its creation is published to it
    customer, token = phone(), card_token()
    try:
        bound = bank.bind(customer, token, name="Li Hua", id_no=id_number(7))
    finally:
        stop_running(stack)
    assert bound["status"] == "BOUND", bound
    reply = api.call("POST", f"/admin/partners/{bank.partner_id}/suspension", {"reason": "audit"},
                     token=api.token("ops-admin", "admin"), key=new_key())
    assert reply.status == 200, reply.body
    stack.drain_streams(timeout=20)
    mine = [e for e in drain() if e["detail"].get("partner_id") == bank.partner_id]
    assert sorted(e["detail-type"] for e in mine) == sorted([
        "PartnerCreated", "BindingRequested", "BindingAccountRegistered", "BindingAwaitingBank", "BindingConfirmed",
        "BindingBound", "BindingActivated", "PartnerSuspended"])
    assert len({e["detail"]["event_id"] for e in mine}) == len(mine)
    activated = next(e["detail"] for e in mine if e["detail-type"] == "BindingActivated")
    bound_event = next(e["detail"] for e in mine if e["detail-type"] == "BindingBound")
    assert activated["binding_id"] == bound_event["binding_id"] and activated["security_authentication_required"]
    assert bound_event["binding_request_id"] == bound["binding_request_id"]
    text = json.dumps(mine)
    assert customer not in text and token not in text and "Li Hua" not in text and id_number(7) not in text
    outbox = [from_item(i) for i in stack.client("dynamodb").scan(
        TableName="BindingsTable", FilterExpression="entity = :o",
        ExpressionAttributeValues={":o": {"S": "OUTBOX"}})["Items"]]
    assert sorted(i["event_id"] for i in outbox) == sorted(e["detail"]["event_id"] for e in mine)
    assert stack.streams.get("PublishBindingEventsFunctionBindingOutbox").stats.batches_failed_over == 0
    # The events invariant holds here, and fails once a change's event is missing (as a best-effort publish after
    # the commit would leave it after a crash)
    partners = invariants.scan(stack, "PartnersTable")
    items = invariants.scan(stack, "BindingsTable")
    invariants.binding_events(items, partners)
    for lost in ("BindingConfirmed", "BindingActivated", "PartnerSuspended"):
        with pytest.raises(AssertionError):
            invariants.binding_events([i for i in items if i.get("detail_type") != lost], partners)


@pytest.mark.parametrize("publisher", ["PublishLedgerEventsFunction", "PublishCampaignEventsFunction",
                                       "PublishGroupEventsFunction", "PublishProxyEventsFunction",
                                       "PublishBindingEventsFunction"])
def test_every_publisher_redrives_its_own_dlq(clean_stack: LocalStack, publisher: str) -> None:
    """The operator's invocation (``events/<capability>/publish_*_events_redrive.json``) runs on each publisher
    with the template's grants (its table's read, its DLQ's receive and delete); an empty DLQ redrives nothing,
    and a message that names no batch stays in the queue."""
    from tests.events import event_path_for

    spec = clean_stack.registry.specs[publisher]
    sample = event_path_for(spec).with_name(event_path_for(spec).stem + "_redrive.json")
    event = json.loads(sample.read_text())
    assert clean_stack.invoke(publisher, event) == {"batches": 0, "published": 0, "unreadable": 0}
    queue = clean_stack.registry.environment(publisher)["OUTBOX_DLQ_URL"]
    clean_stack.client("sqs").send_message(QueueUrl=queue, MessageBody="{}")
    assert clean_stack.invoke(publisher, event)["unreadable"] == 1
