"""DynamoDB data access of real-name authentication: ``RealNameTable`` (``pk``, ``sk``).

Items:
* ``SESSION#<id>`` / ``SESSION``: ``doc`` (the session as JSON: masked values and reasons only), ``status``,
  ``version``, ``expires_at``, ``user_id``, ``sealed_probe`` (the selfie's embedding, envelope-encrypted).
  Transitions are one conditional update: the expected status and version, and ``expires_at > :now``.
* ``FAILS#USER#<sub>`` / ``FAILS#DEVICE#<id>`` + ``FAILS``: consecutive failures and ``locked_until``;
  ``events``: the session steps counted since the last success (a retried step counts once).
* ``IDCLAIM#<id hash>`` / ``IDCLAIM``: put-once claim of a verified identity by one account.
* ``REALNAME#<sub>`` / ``REALNAME``: the account's verified identity (keyed hashes, masked forms,
  ``sealed_id_number``); put once, in the same transaction as the claim and the session's transition.
* ``RECENTFACE#<5-minute bucket>`` / ``<at>#<session>``: a recent attempt's embedding (sealed), ``user_id``,
  ``at``; read back for the batch-face window only (by time, on read), ``ttl`` garbage-collects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.realname.errors import AlreadyVerified, IdentityInUse, SessionExpired, SessionNotAwaiting
from shared.realname.models import FailureCounter, RealNameSession, VerifiedIdentity
from shared.writes import GuardedWrite, transact

BUCKET_SECONDS = 300


class StoredFace(NamedTuple):
    user_id: str
    sealed: str
    at: datetime


def _bucket(at: datetime) -> int:
    return int(at.timestamp()) // BUCKET_SECONDS


class DynamoRealNameStore(Repository):
    """``SessionStore``, ``RealNameRecords``, ``RecentFaces`` and ``FailureCounters`` over ``RealNameTable``."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- sessions -------------------------------------------------------------------------------------
    @staticmethod
    def _session_key(session_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"SESSION#{session_id}"}, "sk": {"S": "SESSION"}}

    def create(self, session: RealNameSession, sealed_probe: str) -> None:
        item = {"pk": f"SESSION#{session.session_id}", "sk": "SESSION", "doc": session.model_dump_json(),
                "status": session.status.value, "version": 1, "expires_at": session.expires_at,
                "updated_at": session.updated_at,
                "user_id": session.user_id, "sealed_probe": sealed_probe,
                "ttl": int(session.expires_at.timestamp()) + 90 * 24 * 3600}
        self.client.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")

    def get(self, session_id: str) -> tuple[RealNameSession, str] | None:
        item = self.client.get_item(TableName=self.table, Key=self._session_key(session_id),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        data = from_item(item)
        return RealNameSession.model_validate_json(data["doc"]), str(data["sealed_probe"])

    def _transition_update(self, session: RealNameSession, expected: RealNameSession, now: datetime
                           ) -> dict[str, Any]:
        return {"TableName": self.table, "Key": self._session_key(session.session_id),
                # the expected state, unexpired, and unchanged since it was read (optimistic: updated_at)
                "UpdateExpression": "SET doc = :doc, #s = :status, updated_at = :updated, version = version + :one",
                "ConditionExpression": "#s = :expected AND expires_at > :now AND updated_at = :expected_updated",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":doc": {"S": session.model_dump_json()},
                                              ":status": {"S": session.status.value},
                                              ":expected": {"S": expected.status.value},
                                              ":now": {"S": iso(now)}, ":one": {"N": "1"},
                                              ":updated": {"S": iso(session.updated_at)},
                                              ":expected_updated": {"S": iso(expected.updated_at)}}}

    def transition(self, session: RealNameSession, expected: RealNameSession, now: datetime) -> None:
        try:
            self.client.update_item(**self._transition_update(session, expected, now))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            raise self._why(expected, now) from None

    def _why(self, expected: RealNameSession, now: datetime) -> Exception:
        return SessionExpired() if expected.expires_at <= now else SessionNotAwaiting()

    def verify(self, session: RealNameSession, expected: RealNameSession, identity: VerifiedIdentity,
               sealed_id_number: str, now: datetime, also: Sequence[GuardedWrite] = ()) -> None:
        update = self._transition_update(session, expected, now)
        claim = {"pk": f"IDCLAIM#{identity.id_hash}", "sk": "IDCLAIM", "owner": identity.user_id,
                 "claimed_at": now, "session_id": session.session_id}
        record = {"pk": f"REALNAME#{identity.user_id}", "sk": "REALNAME", "doc": identity.model_dump_json(),
                  "sealed_id_number": sealed_id_number}
        writes = [
            GuardedWrite.failing_with({"Update": update}, lambda: self._why(expected, now)),
            GuardedWrite.failing_with({"Put": {
                "TableName": self.table, "Item": to_item(claim),
                "ConditionExpression": "attribute_not_exists(pk) OR #o = :owner",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {":owner": {"S": identity.user_id}}}}, IdentityInUse),
            GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": to_item(record),
                                               "ConditionExpression": "attribute_not_exists(pk)"}}, AlreadyVerified),
            *also,
        ]
        transact(self.client, writes)

    # --- real-name records ----------------------------------------------------------------------------
    def get_record(self, user_id: str) -> VerifiedIdentity | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"REALNAME#{user_id}"},
                                                               "sk": {"S": "REALNAME"}},
                                    ConsistentRead=True).get("Item")
        return VerifiedIdentity.model_validate_json(item["doc"]["S"]) if item else None

    def put_record(self, identity: VerifiedIdentity, sealed_id_number: str) -> None:
        """Seeding and tools only (the flow writes records in ``verify``'s transaction)."""
        self.client.put_item(TableName=self.table, Item=to_item({
            "pk": f"REALNAME#{identity.user_id}", "sk": "REALNAME", "doc": identity.model_dump_json(),
            "sealed_id_number": sealed_id_number}))

    # --- recent faces ---------------------------------------------------------------------------------
    def add(self, user_id: str, session_id: str, sealed: str, at: datetime, keep_for: timedelta) -> None:
        item = {"pk": f"RECENTFACE#{_bucket(at)}", "sk": f"{iso(at)}#{session_id}", "user_id": user_id,
                "sealed": sealed, "at": at, "ttl": int((at + keep_for).timestamp()) + 3600}
        self.client.put_item(TableName=self.table, Item=to_item(item))

    def since(self, since: datetime, limit: int) -> list[StoredFace]:
        """Attempts at or after ``since`` (newest buckets first), at most ``limit``."""
        out: list[StoredFace] = []
        first, last = _bucket(since), _bucket(datetime.now(since.tzinfo))
        for bucket in range(last, first - 1, -1):
            kwargs: dict[str, Any] = {
                "TableName": self.table, "KeyConditionExpression": "pk = :pk AND sk >= :since",
                "ExpressionAttributeValues": {":pk": {"S": f"RECENTFACE#{bucket}"}, ":since": {"S": iso(since)}},
                "ScanIndexForward": False}
            while len(out) < limit:
                resp = self.client.query(**kwargs, Limit=limit - len(out))
                out += [StoredFace(str(d["user_id"]), str(d["sealed"]), datetime.fromisoformat(d["at"]))
                        for d in map(from_item, resp.get("Items", []))]
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            if len(out) >= limit:
                break
        return out

    # --- failure counters -----------------------------------------------------------------------------
    @staticmethod
    def _fails_key(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"FAILS#{key}"}, "sk": {"S": "FAILS"}}

    def get_counter(self, key: str) -> FailureCounter:
        item = self.client.get_item(TableName=self.table, Key=self._fails_key(key), ConsistentRead=True).get("Item")
        if not item:
            return FailureCounter(key=key)
        data = from_item(item)
        return FailureCounter(key=key, failures=int(data.get("failures", 0)), locked_until=data.get("locked_until"))

    def fail(self, key: str, now: datetime, delay_for: Any, event: str | None = None) -> FailureCounter:
        """With ``event``, the failure is added only if that event is not among the failures counted since the
        last success (``events``, a string set the success clears): a retried step counts once."""
        update: dict[str, Any] = {
            "TableName": self.table, "Key": self._fails_key(key),
            "UpdateExpression": "ADD failures :one SET last_failed_at = :now",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"S": iso(now)}}, "ReturnValues": "ALL_NEW"}
        if event is not None:
            update["UpdateExpression"] = "ADD failures :one, events :ev SET last_failed_at = :now"
            update["ConditionExpression"] = "attribute_not_exists(events) OR NOT contains(events, :e)"
            update["ExpressionAttributeValues"].update({":ev": {"SS": [event]}, ":e": {"S": event}})
        try:
            resp = self.client.update_item(**update)
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            counted = self.get_counter(key)  # counted by an earlier try of the same step
            if counted.locked_until is not None or int(delay_for(counted.failures)) <= 0:
                return counted
            failures = counted.failures  # that try died before its lock: set it now
        else:
            failures = int(resp["Attributes"]["failures"]["N"])
        delay = int(delay_for(failures))
        locked_until = None
        if delay > 0:
            locked_until = now + timedelta(seconds=delay)
            self.client.update_item(TableName=self.table, Key=self._fails_key(key),
                                    UpdateExpression="SET locked_until = :until",
                                    ExpressionAttributeValues={":until": {"S": iso(locked_until)}})
        return FailureCounter(key=key, failures=failures, locked_until=locked_until)

    def succeed(self, key: str) -> None:
        self.client.update_item(TableName=self.table, Key=self._fails_key(key),
                                UpdateExpression="SET failures = :zero REMOVE locked_until, events",
                                ExpressionAttributeValues={":zero": {"N": "0"}})


class Counters:
    """``FailureCounters`` view of the store."""

    def __init__(self, store: DynamoRealNameStore) -> None:
        self.store = store

    def get(self, key: str) -> FailureCounter:
        return self.store.get_counter(key)

    def fail(self, key: str, now: datetime, delay_for: Any, event: str | None = None) -> FailureCounter:
        return self.store.fail(key, now, delay_for, event)

    def succeed(self, key: str) -> None:
        self.store.succeed(key)


class Records:
    """``RealNameRecords`` view of the store."""

    def __init__(self, store: DynamoRealNameStore) -> None:
        self.store = store

    def get(self, user_id: str) -> VerifiedIdentity | None:
        return self.store.get_record(user_id)

