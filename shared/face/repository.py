"""DynamoDB data access of the face capability: ``FaceTable`` (one hash key ``pk``).

Items:
* ``CHALLENGE#<id>``: a liveness challenge: ``user_id``, ``steps``, ``issued_at``, ``expires_at`` and, once
  consumed, ``used_at``. Put once; consumed by one conditional ``UpdateItem`` (owner, unused, ``expires_at >
  :now``: expiry is checked in the condition; the ``ttl`` attribute only lets DynamoDB garbage-collect).
* ``ENROLMENT#<user>``: the user's reference face: ``sealed`` (the embedding, envelope-encrypted, bound to the
  user), ``model_version``, ``enrolled_at``, ``challenge_id``. No image is ever stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.face.errors import ChallengeExpired, ChallengeNotFound, ChallengeUsed
from shared.face.models import FaceEnrolment, IssuedChallenge

# Challenges are kept a day after expiry for audit of which challenge a decision used, then collected.
_CHALLENGE_RETENTION_SECONDS = 24 * 3600


class DynamoFaceStore(Repository):
    """Both ``ChallengeStore`` and ``EnrolmentStore`` over ``FaceTable``."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- challenges -----------------------------------------------------------------------------------
    def put(self, challenge: IssuedChallenge) -> None:
        item = {"pk": f"CHALLENGE#{challenge.challenge_id}", **challenge.model_dump(),
                "ttl": int(challenge.expires_at.timestamp()) + _CHALLENGE_RETENTION_SECONDS}
        self.client.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")

    def consume(self, challenge_id: str, user_id: str, now: datetime, request: str | None = None) -> IssuedChallenge:
        stamp = iso(now)  # the codec writes datetimes this way: ISO-8601 UTC, sortable as strings
        values = {":now": {"S": stamp}, ":user": {"S": user_id}}
        unused = "attribute_not_exists(used_at)"
        update = "SET used_at = :now"
        if request is not None:  # the same request again (a retry after a crash) may use it again
            values[":req"] = {"S": request}
            unused = "(attribute_not_exists(used_at) OR used_by = :req)"
            update += ", used_by = :req"
        try:
            resp = self.client.update_item(
                TableName=self.table, Key={"pk": {"S": f"CHALLENGE#{challenge_id}"}},
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(pk) AND user_id = :user AND {unused} AND expires_at > :now",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            raw: Any = dict(exc.response).get("Item")  # ReturnValuesOnConditionCheckFailure
            old = from_item(raw) if raw else None
            if old is None or old.get("user_id") != user_id:
                raise ChallengeNotFound() from None
            if old.get("used_at"):
                raise ChallengeUsed() from None
            raise ChallengeExpired() from None
        return _challenge(from_item(resp["Attributes"]))

    def get_challenge(self, challenge_id: str) -> IssuedChallenge | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"CHALLENGE#{challenge_id}"}},
                                    ConsistentRead=True).get("Item")
        return _challenge(from_item(item)) if item else None

    # --- enrolments -----------------------------------------------------------------------------------
    def put_enrolment(self, enrolment: FaceEnrolment, sealed_embedding: str) -> None:
        item = {"pk": f"ENROLMENT#{enrolment.user_id}", **enrolment.model_dump(),
                "sealed": sealed_embedding}
        self.client.put_item(TableName=self.table, Item=to_item(item))

    def get_enrolment(self, user_id: str) -> tuple[FaceEnrolment, str] | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"ENROLMENT#{user_id}"}},
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        data = from_item(item)
        return FaceEnrolment.model_validate(data), str(data["sealed"])

    def delete_enrolment(self, user_id: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"ENROLMENT#{user_id}"}})


class EnrolmentTable:
    """``EnrolmentStore`` view of :class:`DynamoFaceStore` (the port's short method names)."""

    def __init__(self, store: DynamoFaceStore) -> None:
        self.store = store

    def put(self, enrolment: FaceEnrolment, sealed_embedding: str) -> None:
        self.store.put_enrolment(enrolment, sealed_embedding)

    def get(self, user_id: str) -> tuple[FaceEnrolment, str] | None:
        return self.store.get_enrolment(user_id)

    def delete(self, user_id: str) -> None:
        self.store.delete_enrolment(user_id)


def _challenge(data: dict[str, Any]) -> IssuedChallenge:
    return IssuedChallenge.model_validate({k: v for k, v in data.items() if k not in ("pk", "ttl")})
