"""The outbox publisher and its item codec on a fake EventBridge client (no stack): failures raise, so the stream
record is reported failed and redelivered; an unreadable item is a poison record; other items are skipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.dynamo import from_item
from shared.outbox import (
    OutboxEvent,
    OutboxPublisher,
    OutboxPublishFailed,
    PoisonOutboxRecord,
    event_from_image,
    event_id_of,
    outbox_write,
)

EVENT = OutboxEvent(event_id=event_id_of("wallet.ledger", "TransferCompleted", "tx_1"), source="wallet.ledger",
                    detail_type="TransferCompleted", detail={"transaction_id": "tx_1", "amount": 5},
                    created_at=datetime(2026, 11, 30, tzinfo=UTC))


class FakeEvents:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def image() -> dict[str, Any]:
    return from_item(outbox_write("LedgerTable", EVENT, RuntimeError).operation["Put"]["Item"])


def test_the_item_round_trips_and_the_entry_carries_the_event_id() -> None:
    # Given the outbox item as the stream's NEW_IMAGE carries it
    event = event_from_image(image())
    # Then it is the event written, and its entry's detail names the event id
    assert event == EVENT
    client = FakeEvents({"FailedEntryCount": 0, "Entries": [{"EventId": "x"}]})
    OutboxPublisher("LedgerEventBus", client).publish(EVENT)
    (entry,) = client.entries
    assert entry["EventBusName"] == "LedgerEventBus" and entry["DetailType"] == "TransferCompleted"
    assert json.loads(entry["Detail"]) == {"transaction_id": "tx_1", "amount": 5, "event_id": EVENT.event_id}


def test_the_same_change_names_the_same_event() -> None:
    assert event_id_of("a", "b", "tx_1") == event_id_of("a", "b", "tx_1") != event_id_of("a", "b", "tx_2")


@pytest.mark.parametrize("answer", [
    {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
    ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutEvents"),
])
def test_an_event_eventbridge_did_not_take_raises(answer: Any) -> None:
    with pytest.raises(OutboxPublishFailed):
        OutboxPublisher("LedgerEventBus", FakeEvents(answer)).publish(EVENT)


def test_an_unreadable_outbox_item_is_a_poison_record_and_other_items_are_skipped() -> None:
    with pytest.raises(PoisonOutboxRecord):
        event_from_image({**image(), "detail": "{not json"})
    with pytest.raises(PoisonOutboxRecord):
        event_from_image({**image(), "event_id": ""})
    assert event_from_image({"pk": "TX#tx_1", "sk": "TX", "entity": "TRANSACTION"}) is None
