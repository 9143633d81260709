"""Risk signals on the local stack: sign-ins, the ledger stream projector, the user's and the admin's routes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local_stack import LocalStack
from tests.conftest import Api, User

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}
PROJECTOR = "LedgerProjectorFunction"


def sign_in(api: Api, user: User, device: str, **extra: Any) -> Any:
    body = {"device_id": device, "network": "WIFI", "client": ANDROID, **extra}
    return api.call("POST", "/sessions", body, token=user.token, key=str(uuid.uuid4()))


def transfer(api: Api, source: User, target: User, amount: int) -> None:
    reply = api.call("POST", "/transfers", {"to_account_id": target.account_id,
                                            "amount": {"amount": amount, "currency": "CNY"}},
                     token=source.token, key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body


def profile(api: Api, user: User) -> dict[str, Any]:
    reply = api.call("GET", "/me/activity-profile", token=user.token)
    assert reply.status == 200, reply.body
    return reply.body


def signals_items(stack: LocalStack) -> list[dict[str, Any]]:
    return stack.client("dynamodb").scan(TableName="SignalsTable")["Items"]


def test_a_new_user_signs_in_on_two_devices_transfers_and_sees_exactly_that(api: Api) -> None:
    stack = api.stack
    alice, bob = api.user(balance=100_000), api.user()
    # When alice signs in from two devices and sends bob two transfers
    first = sign_in(api, alice, "phone-alice-1", geo={"lat": 31.2304, "lon": 121.4737})
    assert first.status == 201, first.body
    assert first.body["device"] == {"device_id": "phone-alice-1", "trusted": False} and first.body["new_device"]
    second = sign_in(api, alice, "tablet-alice-2", network="CELLULAR")
    again = sign_in(api, alice, "phone-alice-1")
    assert not again.body["new_device"] and again.body["session_id"] != first.body["session_id"]
    transfer(api, alice, bob, 1_250)
    transfer(api, alice, bob, 2_000)
    stack.drain_streams(timeout=20)
    # Then her profile shows the devices, sign-ins and transfers, and nothing more
    p = profile(api, alice)
    assert second.status == 201
    assert p["sign_ins"]["count"] == 3 and p["sign_ins"]["by_network"] == {"WIFI": 2, "CELLULAR": 1}
    assert {d["device_id"]: (d["sign_ins"], d["trusted"]) for d in p["devices"]} == {
        "phone-alice-1": (2, False), "tablet-alice-2": (1, False)}
    assert p["networks"][0]["prefix"] == "127.0.0.0/24"  # the gateway's source IP, kept as a /24
    assert p["places"][0]["cell"] == "wtw3s" and p["last_location"]["cell"] == "wtw3sj"
    activity = p["activity"]
    assert activity["by_type"]["P2P_TRANSFER"] == {"count_out": 2, "amount_out": 3_250, "count_in": 0, "amount_in": 0}
    assert activity["by_type"]["DEPOSIT"]["count_in"] == 1
    assert activity["spend_30d"] == 3_250 and activity["counterparties"] == 1 and activity["days_inactive"] == 0
    assert "tags" not in json.dumps(p)
    assert profile(api, bob)["activity"]["by_type"]["P2P_TRANSFER"]["count_in"] == 2


def test_projection_is_exactly_once_when_every_batch_is_delivered_twice(api: Api) -> None:
    stack = api.stack
    alice, bob = api.user(balance=100_000), api.user()
    with stack.streams.faults(PROJECTOR, duplicate_batches=True):
        for amount in (100, 200, 300):
            transfer(api, alice, bob, amount)
        stack.drain_streams(timeout=20)
    activity = profile(api, alice)["activity"]
    assert activity["by_type"]["P2P_TRANSFER"]["count_out"] == 3 and activity["spend_30d"] == 600
    assert profile(api, bob)["activity"]["by_type"]["P2P_TRANSFER"]["amount_in"] == 600


def test_projection_survives_a_crash_after_the_work_and_the_retry(api: Api) -> None:
    stack = api.stack
    alice, bob = api.user(balance=100_000), api.user()
    poller = stack.streams.get(PROJECTOR)
    with stack.streams.faults(PROJECTOR, crash_after_handler=2), poller.paused():
        for amount in (100, 200, 300, 400):
            transfer(api, alice, bob, amount)
    stack.drain_streams(timeout=20)
    activity = profile(api, alice)["activity"]
    assert activity["by_type"]["P2P_TRANSFER"]["count_out"] == 4 and activity["spend_30d"] == 1_000
    assert activity["counterparties"] == 1


def test_a_poison_record_goes_to_the_dlq_without_blocking_the_shard(api: Api) -> None:
    stack = api.stack
    alice, bob = api.user(balance=100_000), api.user()
    ddb = stack.client("dynamodb")
    # Given an ENTRY item the projector cannot read (as a bug elsewhere might write) between two transfers
    transfer(api, alice, bob, 100)
    ddb.put_item(TableName="LedgerTable", Item={
        "pk": {"S": f"ACCOUNT#{alice.account_id}"}, "sk": {"S": "ENTRY#poison"}, "entity": {"S": "ENTRY"},
        "account_id": {"S": alice.account_id}, "amount": {"S": "not a number"}})
    transfer(api, alice, bob, 200)
    stack.drain_streams(timeout=60)
    # Then the good records are projected and the poison record's batch info is in the DLQ
    assert profile(api, alice)["activity"]["by_type"]["P2P_TRANSFER"]["count_out"] == 2
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="LedgerProjectorDLQ")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    # (the batch from the poison record on: the records after it in that batch were folded in on the first try,
    # Powertools processes every record and reports only the failed one; their markers make a redrive harmless)
    assert len(messages) == 1 and json.loads(messages[0]["Body"])["DDBStreamBatchInfo"]["batchSize"] >= 1
    # And the shard moved on: a later transfer is projected
    transfer(api, alice, bob, 300)
    stack.drain_streams(timeout=20)
    assert profile(api, alice)["activity"]["by_type"]["P2P_TRANSFER"]["count_out"] == 3


def test_system_accounts_get_no_profile(api: Api) -> None:
    stack = api.stack
    api.user(balance=5_000)
    stack.drain_streams(timeout=20)
    keys = {i["pk"]["S"] for i in signals_items(stack)}
    assert not any("platform" in k or "sys_" in k for k in keys), keys


@pytest.mark.parametrize(("body", "code"), [
    ({"device_id": "short", "network": "WIFI", "client": ANDROID}, "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "5G", "client": ANDROID}, "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": ANDROID, "geo": {"lat": 91, "lon": 0}},
     "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": ANDROID, "geo": {"lat": 0, "lon": -180.5}},
     "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": {"os": "Android\u202e41", "app_version": "1"}},
     "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": {"os": "Android\x00", "app_version": "1"}},
     "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": {"os": "x" * 41, "app_version": "1"}},
     "VALIDATION_ERROR"),
    ({"device_id": "d" * 129, "network": "WIFI", "client": ANDROID}, "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI", "client": ANDROID, "extra": 1}, "VALIDATION_ERROR"),
    ({"device_id": "device-123456", "network": "WIFI"}, "VALIDATION_ERROR"),
])
def test_bad_sign_ins_are_refused_and_write_nothing(api: Api, body: dict[str, Any], code: str) -> None:
    user = api.user()
    reply = api.call("POST", "/sessions", body, token=user.token, key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (422, code), reply.body
    assert signals_items(api.stack) == []


def test_sign_in_needs_a_token_and_an_idempotency_key(api: Api) -> None:
    user = api.user()
    body = {"device_id": "device-123456", "network": "WIFI", "client": ANDROID}
    assert api.call("POST", "/sessions", body, key="k1").status == 401
    assert api.call("POST", "/sessions", body, token=user.token).code == "IDEMPOTENCY_KEY_REQUIRED"
    first = api.call("POST", "/sessions", body, token=user.token, key="k2")
    replay = api.call("POST", "/sessions", body, token=user.token, key="k2")
    assert replay.body == first.body and profile(api, user)["sign_ins"]["count"] == 1


def test_forgetting_a_device(api: Api) -> None:
    alice, mallory = api.user(), api.user()
    sign_in(api, alice, "phone-alice-1")
    sign_in(api, mallory, "phone-mallory")
    assert api.call("DELETE", "/me/devices/phone-mallory", token=alice.token).status == 404  # not hers
    assert api.call("DELETE", "/me/devices/phone-alice-1", token=alice.token).status == 200
    assert profile(api, alice)["devices"] == []
    assert api.call("DELETE", "/me/devices/phone-alice-1", token=alice.token).code == "DEVICE_NOT_FOUND"
    assert api.call("DELETE", "/me/devices/bad!device", token=alice.token).status == 422
    assert [d["device_id"] for d in profile(api, mallory)["devices"]] == ["phone-mallory"]
    assert sign_in(api, alice, "phone-alice-1").body["new_device"]


def test_admin_tags_are_audited_and_never_shown_to_the_user(api: Api) -> None:
    stack = api.stack
    alice = api.user()
    admin = api.token("risk-ops", "admin")
    path = f"/admin/users/{alice.sub}/tags/GREY"
    assert api.call("PUT", path, {"reason": "chargebacks"}, token=alice.token).status == 403
    assert api.call("PUT", f"/admin/users/{alice.sub}/tags/PURPLE", {"reason": "x"}, token=admin).status == 422
    assert api.call("PUT", path, {"reason": "bad\u202etext"}, token=admin).status == 422
    assert api.call("PUT", path, {"reason": "x" * 501}, token=admin).status == 422
    assert api.call("PUT", path, {}, token=admin).status == 422
    assert signals_items(stack) == []  # nothing written by any refused call
    put = api.call("PUT", path, {"reason": "chargebacks"}, token=admin)
    assert put.status == 200 and put.body["set_by"] == "risk-ops" and put.body["reason"] == "chargebacks"
    assert "GREY" not in json.dumps(profile(api, alice))
    cleared = api.call("DELETE", path, {"reason": "resolved"}, token=admin)
    assert cleared.status == 200 and cleared.body["cleared_by"] == "risk-ops"
    assert api.call("DELETE", path, {"reason": "again"}, token=admin).code == "TAG_NOT_SET"
    audit = [i for i in signals_items(stack) if i["sk"]["S"].startswith("TAGLOG#")]
    assert sorted((a["action"]["S"], a["by"]["S"], a["reason"]["S"]) for a in audit) == [
        ("CLEARED", "risk-ops", "resolved"), ("SET", "risk-ops", "chargebacks")]


def test_cross_user_indexes_are_read_by_window_from_the_table(api: Api) -> None:
    from datetime import datetime, timedelta

    from shared.signals.adapters import CidrReputation
    from shared.signals.repository import DynamoSignalsStore
    from shared.signals.services import SignalsService
    from shared.signals.settings import SignalsSettings

    alice, bob = api.user(), api.user()
    shanghai = {"lat": 31.2304, "lon": 121.4737}
    for user in (alice, bob):  # two accounts on one device, from one network and one area cell
        assert sign_in(api, user, "shared-device-1", geo=shanghai).status == 201
    sign_in(api, alice, "alice-own-device")
    now = [datetime.now().astimezone()]
    reader = SignalsService(DynamoSignalsStore("SignalsTable", api.stack.client("dynamodb")),
                            SignalsSettings(signals_table="SignalsTable"), CidrReputation(), clock=lambda: now[0])
    hour = timedelta(hours=1)
    assert sorted(reader.accounts_on_device("shared-device-1", hour)) == sorted([alice.sub, bob.sub])
    assert reader.accounts_on_device("alice-own-device", hour) == [alice.sub]
    assert reader.attempts_from_prefix("127.0.0.0/24", hour).count == 3
    assert reader.attempts_in_cell("wtw3s", hour).count == 2
    now[0] += timedelta(hours=2)  # the same items, read two hours later: outside a one-hour window
    assert reader.accounts_on_device("shared-device-1", hour) == []
    assert reader.attempts_from_prefix("127.0.0.0/24", hour).count == 0
    assert reader.attempts_in_cell("wtw3s", 3 * hour).count == 2
