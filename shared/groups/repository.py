"""DynamoDB data access for groups: the Groups table (``pk``, ``sk``).

``GROUP#<gid>`` / ``META``         the group (name, owner = key user, ``member_count``)
``GROUP#<gid>`` / ``MEMBER#<sub>`` one member
``USER#<sub>`` / ``GROUP``         put-once: the one group a user belongs to (and whether they lead it)
``INVITE#<code>`` / ``INVITE``     an invitation code (``expires_at`` checked in the join's condition)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import RETRYABLE_ERRORS, RETRYABLE_REASONS, Repository, cancellation_reasons, from_item, to_item
from shared.groups.errors import AlreadyInGroup, GroupFull, GroupNotFound, InvitationNotFound
from shared.groups.models import Group, Invitation
from shared.writes import ConflictingWrite

MAX_MEMBERS = 50


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class DynamoGroupStore(Repository):
    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    def create(self, group: Group) -> None:
        gid, owner = group.group_id, group.owner
        items = [
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
                "pk": f"USER#{owner}", "sk": "GROUP", "group_id": gid, "role": "KEY_USER"})}},
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
                "pk": f"GROUP#{gid}", "sk": "META", "group_id": gid, "name": group.name, "owner": owner,
                "created_at": iso(group.created_at), "member_count": 1})}},
            {"Put": {"TableName": self.table, "Item": to_item({
                "pk": f"GROUP#{gid}", "sk": f"MEMBER#{owner}", "user_id": owner,
                "joined_at": iso(group.created_at)})}},
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            _contention(exc)
            if cancellation_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                raise AlreadyInGroup() from exc
            raise

    def membership(self, user_id: str) -> tuple[str, str] | None:
        """(group id, role) of the user's group, if any."""
        item = self.client.get_item(TableName=self.table, Key=_key(f"USER#{user_id}", "GROUP"),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        d = from_item(item)
        return str(d["group_id"]), str(d["role"])

    def get(self, group_id: str) -> Group | None:
        resp = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                                 ExpressionAttributeValues={":pk": {"S": f"GROUP#{group_id}"}})
        rows = [from_item(i) for i in resp.get("Items", [])]
        meta = next((r for r in rows if r["sk"] == "META"), None)
        if meta is None:
            return None
        members = tuple(sorted(str(r["user_id"]) for r in rows if str(r["sk"]).startswith("MEMBER#")))
        return Group(group_id=group_id, name=meta["name"], owner=meta["owner"],
                     created_at=datetime.fromisoformat(meta["created_at"]), members=members)

    def put_invitation(self, invitation: Invitation) -> None:
        self.client.put_item(TableName=self.table, ConditionExpression="attribute_not_exists(pk)", Item=to_item({
            "pk": f"INVITE#{invitation.code}", "sk": "INVITE", "group_id": invitation.group_id,
            "created_by": invitation.created_by, "expires_at": iso(invitation.expires_at)}))

    def get_invitation(self, code: str) -> Invitation | None:
        item = self.client.get_item(TableName=self.table, Key=_key(f"INVITE#{code}", "INVITE"),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        d = from_item(item)
        return Invitation(code=code, group_id=d["group_id"], created_by=d["created_by"],
                          expires_at=datetime.fromisoformat(d["expires_at"]))

    def join(self, invitation: Invitation, user_id: str, now: datetime) -> None:
        gid = invitation.group_id
        items = [
            {"ConditionCheck": {"TableName": self.table, "Key": _key(f"INVITE#{invitation.code}", "INVITE"),
                                "ConditionExpression": "expires_at > :now",
                                "ExpressionAttributeValues": {":now": {"S": iso(now)}}}},
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
                "pk": f"USER#{user_id}", "sk": "GROUP", "group_id": gid, "role": "MEMBER"})}},
            {"Update": {"TableName": self.table, "Key": _key(f"GROUP#{gid}", "META"),
                        "UpdateExpression": "SET member_count = member_count + :one",
                        "ConditionExpression": "attribute_exists(pk) AND member_count < :max",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(MAX_MEMBERS)}}}},
            {"Put": {"TableName": self.table, "Item": to_item({
                "pk": f"GROUP#{gid}", "sk": f"MEMBER#{user_id}", "user_id": user_id, "joined_at": iso(now)})}},
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            _contention(exc)
            reasons = cancellation_reasons(exc)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise InvitationNotFound() from exc
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise AlreadyInGroup() from exc
            if reasons[2:3] == ["ConditionalCheckFailed"]:
                raise GroupFull(maximum=MAX_MEMBERS) from exc
            raise

    def leave(self, group_id: str, user_id: str) -> None:
        items = [
            {"Delete": {"TableName": self.table, "Key": _key(f"USER#{user_id}", "GROUP"),
                        "ConditionExpression": "group_id = :g AND #r = :member",
                        "ExpressionAttributeNames": {"#r": "role"},
                        "ExpressionAttributeValues": {":g": {"S": group_id}, ":member": {"S": "MEMBER"}}}},
            {"Delete": {"TableName": self.table, "Key": _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")}},
            {"Update": {"TableName": self.table, "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": "SET member_count = member_count - :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            _contention(exc)
            if cancellation_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                raise GroupNotFound(group_id=group_id) from exc
            raise


def _contention(exc: ClientError) -> None:
    """Contention or throttling that outlived the SDK's retries: ``ConflictingWrite`` (503, safe to retry)."""
    code = exc.response.get("Error", {}).get("Code", "")
    reasons = set(cancellation_reasons(exc)) if code == "TransactionCanceledException" else set()
    if code in RETRYABLE_ERRORS or reasons & RETRYABLE_REASONS:
        raise ConflictingWrite(code) from exc
