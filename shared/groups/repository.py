"""DynamoDB data access for groups: the Groups table (``pk``, ``sk``).

``GROUP#<gid>`` / ``META``            the group: name, owner (its key user), ``campaign_id`` (the campaign it was
                                      created for), ``member_count``, ``shared_voucher`` (the group-shared voucher
                                      of its campaign, set with the key-user claim)
``GROUP#<gid>`` / ``MEMBER#<sub>``    one member
``USER#<sub>`` / ``CAMPAIGN#<cid>``   put-once: the one group a user belongs to in a campaign and their ``role``
                                      there (``KEY_USER``: they created it, ``MEMBER``); ``request``: the tag of the
                                      request that joined (a retry of it after a crash answers the group again)
``USER#<sub>`` / ``LEFT#<gid>``       the tag of the request with which the user last left the group (``request``)
``INVITE#<code>`` / ``INVITE``        an invitation code (``expires_at`` checked in the join's condition)
``CAMPAIGN#<cid>`` / ``DRAW``         the campaign's draw lock: ``status`` DRAWING from the draw's freeze until it
                                      is settled (SETTLED); joins and leaves of groups holding a group-shared
                                      voucher check it in their transaction

Every conditional write is a ``GuardedWrite`` carrying the error its condition stands for, committed by
``shared.writes.transact`` (the failing write raises its own error; nothing reads a position in the list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.errors import AlreadyExists
from shared.groups.errors import AlreadyInGroup, GroupFull, GroupLockedForDraw, GroupNotFound, InvitationNotFound
from shared.groups.models import Group, Invitation, Role
from shared.groups.ports import GroupChanged
from shared.outbox import OutboxEvent, outbox_writes
from shared.writes import GuardedWrite, OldImage, transact

MAX_MEMBERS = 50
OUTBOX_TTL = "outbox_expires_at"  # the TTL attribute of outbox items (an invitation's expires_at is ISO text)
DRAWING, SETTLED = "DRAWING", "SETTLED"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _membership_key(user_id: str, campaign_id: str) -> dict[str, Any]:
    return _key(f"USER#{user_id}", f"CAMPAIGN#{campaign_id}")


def _draw_key(campaign_id: str) -> dict[str, Any]:
    return _key(f"CAMPAIGN#{campaign_id}", "DRAW")


class DynamoGroupStore(Repository):
    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- reads ------------------------------------------------------------------
    def membership(self, user_id: str, campaign_id: str) -> tuple[str, Role] | None:
        item = self.client.get_item(TableName=self.table, Key=_membership_key(user_id, campaign_id),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        d = from_item(item)
        return str(d["group_id"]), Role(d["role"])

    def membership_count(self, user_id: str) -> int:
        """In how many campaigns' groups the user is (a member or their key user)."""
        resp = self.client.query(TableName=self.table, Select="COUNT", ConsistentRead=True,
                                 KeyConditionExpression="pk = :pk AND begins_with(sk, :campaign)",
                                 ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"},
                                                            ":campaign": {"S": "CAMPAIGN#"}})
        return int(resp.get("Count", 0))

    def get(self, group_id: str) -> Group | None:
        resp = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                                 ExpressionAttributeValues={":pk": {"S": f"GROUP#{group_id}"}})
        rows = [from_item(i) for i in resp.get("Items", [])]
        meta = next((r for r in rows if r["sk"] == "META"), None)
        if meta is None:
            return None
        members = tuple(sorted(str(r["user_id"]) for r in rows if str(r["sk"]).startswith("MEMBER#")))
        return Group(group_id=group_id, name=meta["name"], owner=meta["owner"], campaign_id=meta["campaign_id"],
                     created_at=datetime.fromisoformat(meta["created_at"]), members=members,
                     shared_voucher=meta.get("shared_voucher"))

    def get_invitation(self, code: str) -> Invitation | None:
        item = self.client.get_item(TableName=self.table, Key=_key(f"INVITE#{code}", "INVITE"),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        d = from_item(item)
        return Invitation(code=code, group_id=d["group_id"], created_by=d["created_by"],
                          expires_at=datetime.fromisoformat(d["expires_at"]))

    # --- writes -------------------------------------------------------------------
    def create(self, group: Group, events: Sequence[OutboxEvent] = ()) -> None:
        gid, owner = group.group_id, group.owner
        member = {"Put": {"TableName": self.table, "Item": to_item({
            "pk": f"GROUP#{gid}", "sk": f"MEMBER#{owner}", "user_id": owner, "joined_at": iso(group.created_at)})}}
        transact(self.client, [
            self._membership_put(owner, group.campaign_id, gid, Role.KEY_USER),
            GuardedWrite.failing_with(
                {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
                    "pk": f"GROUP#{gid}", "sk": "META", "entity": "GROUP", "group_id": gid, "name": group.name,
                    "owner": owner, "campaign_id": group.campaign_id, "created_at": iso(group.created_at),
                    "member_count": 1})}},
                lambda: AlreadyExists("The group id is taken.", group_id=gid)),
            *outbox_writes(self.table, events, ttl_attribute=OUTBOX_TTL),
        ], before=[member])

    def put_invitation(self, invitation: Invitation) -> None:
        self.client.put_item(TableName=self.table, ConditionExpression="attribute_not_exists(pk)", Item=to_item({
            "pk": f"INVITE#{invitation.code}", "sk": "INVITE", "group_id": invitation.group_id,
            "created_by": invitation.created_by, "expires_at": iso(invitation.expires_at)}))

    def joined_with(self, user_id: str, campaign_id: str) -> tuple[str, str | None] | None:
        item = self.client.get_item(TableName=self.table, Key=_membership_key(user_id, campaign_id),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        d = from_item(item)
        return str(d["group_id"]), d.get("request")

    def left_with(self, user_id: str, group_id: str) -> str | None:
        item = self.client.get_item(TableName=self.table, Key=_key(f"USER#{user_id}", f"LEFT#{group_id}"),
                                    ConsistentRead=True).get("Item")
        return str(from_item(item)["request"]) if item else None

    def join(self, invitation: Invitation, group: Group, user_id: str, now: datetime,
             events: Sequence[OutboxEvent] = (), request: str | None = None) -> None:
        gid = group.group_id
        invite = GuardedWrite.failing_with(
            {"ConditionCheck": {"TableName": self.table, "Key": _key(f"INVITE#{invitation.code}", "INVITE"),
                                "ConditionExpression": "expires_at > :now",
                                "ExpressionAttributeValues": {":now": {"S": iso(now)}}}},
            InvitationNotFound)
        member = {"Put": {"TableName": self.table, "Item": to_item({
            "pk": f"GROUP#{gid}", "sk": f"MEMBER#{user_id}", "user_id": user_id, "joined_at": iso(now)})}}
        writes = [invite, self._membership_put(user_id, group.campaign_id, gid, Role.MEMBER, request),
                  self._count_update(group, +1)]
        transact(self.client, [*writes, *self._draw_check(group),
                               *outbox_writes(self.table, events, ttl_attribute=OUTBOX_TTL)], before=[member])

    def leave(self, group: Group, user_id: str, events: Sequence[OutboxEvent] = (),
              request: str | None = None) -> None:
        gid = group.group_id
        membership = GuardedWrite.failing_with(
            {"Delete": {"TableName": self.table, "Key": _membership_key(user_id, group.campaign_id),
                        "ConditionExpression": "group_id = :g AND #r = :member",
                        "ExpressionAttributeNames": {"#r": "role"},
                        "ExpressionAttributeValues": {":g": {"S": gid}, ":member": {"S": Role.MEMBER.value}}}},
            lambda: GroupNotFound(group_id=gid))
        member = {"Delete": {"TableName": self.table, "Key": _key(f"GROUP#{gid}", f"MEMBER#{user_id}")}}
        left = [{"Put": {"TableName": self.table, "Item": to_item({
            "pk": f"USER#{user_id}", "sk": f"LEFT#{gid}", "entity": "LEFT", "group_id": gid, "request": request})}}]
        transact(self.client, [membership, self._count_update(group, -1), *self._draw_check(group),
                               *outbox_writes(self.table, events, ttl_attribute=OUTBOX_TTL)],
                 before=[member, *(left if request else [])])

    def shared_voucher_write(self, group_id: str, key_user: str, campaign_id: str, voucher_id: str,
                             on_failure: Callable[[], Exception]) -> GuardedWrite:
        update = {"Update": {
            "TableName": self.table, "Key": _key(f"GROUP#{group_id}", "META"),
            "UpdateExpression": "SET shared_voucher = :v",
            "ConditionExpression": "#o = :u AND campaign_id = :c", "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":v": {"S": voucher_id}, ":u": {"S": key_user}, ":c": {"S": campaign_id}},
        }}
        return GuardedWrite.failing_with(update, on_failure)

    def lock_for_draw(self, campaign_id: str) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=to_item({
                "pk": f"CAMPAIGN#{campaign_id}", "sk": "DRAW", "entity": "DRAW_LOCK", "status": DRAWING}),
                ConditionExpression="attribute_not_exists(pk) OR #st = :drawing",
                ExpressionAttributeNames={"#st": "status"}, ExpressionAttributeValues={":drawing": {"S": DRAWING}})
        except ClientError as exc:
            if not is_condition_failure(exc):  # already SETTLED: a re-run of a settled draw locks nothing
                raise

    def unlock_after_draw(self, campaign_id: str) -> None:
        self.client.put_item(TableName=self.table, Item=to_item({
            "pk": f"CAMPAIGN#{campaign_id}", "sk": "DRAW", "entity": "DRAW_LOCK", "status": SETTLED}))

    # --- guarded writes ---------------------------------------------------------------
    def _membership_put(self, user_id: str, campaign_id: str, group_id: str, role: Role,
                        request: str | None = None) -> GuardedWrite:
        put = {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
            "pk": f"USER#{user_id}", "sk": f"CAMPAIGN#{campaign_id}", "entity": "MEMBERSHIP", "group_id": group_id,
            "campaign_id": campaign_id, "role": role.value, "request": request})}}
        return GuardedWrite.failing_with(put, lambda: AlreadyInGroup(campaign_id=campaign_id))

    def _count_update(self, group: Group, delta: int) -> GuardedWrite:
        """The member count, on condition that the group still is as read (exists; its shared voucher unchanged,
        which decides whether the draw lock applies) and, when joining, has room."""
        condition = "attribute_exists(pk) AND "
        values: dict[str, Any] = {":d": {"N": str(delta)}}
        if group.shared_voucher is None:
            condition += "attribute_not_exists(shared_voucher)"
        else:
            condition += "shared_voucher = :sv"
            values[":sv"] = {"S": group.shared_voucher}
        if delta > 0:
            condition += " AND member_count < :max"
            values[":max"] = {"N": str(MAX_MEMBERS)}
        update = {"Update": {
            "TableName": self.table, "Key": _key(f"GROUP#{group.group_id}", "META"),
            "UpdateExpression": "SET member_count = member_count + :d", "ConditionExpression": condition,
            "ExpressionAttributeValues": values, "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}

        def refusal(old: OldImage) -> Exception:
            current = old if old is not None else self._meta(group.group_id)
            if current is None:
                return GroupNotFound(group_id=group.group_id)
            if current.get("shared_voucher") != group.shared_voucher:
                return GroupChanged(group.group_id)
            return GroupFull(maximum=MAX_MEMBERS)

        return GuardedWrite(update, refusal)

    def _draw_check(self, group: Group) -> list[GuardedWrite]:
        """For a group holding a group-shared voucher: its campaign's draw is not running."""
        if group.shared_voucher is None:
            return []
        check = {"ConditionCheck": {"TableName": self.table, "Key": _draw_key(group.campaign_id),
                                    "ConditionExpression": "attribute_not_exists(pk) OR #st <> :drawing",
                                    "ExpressionAttributeNames": {"#st": "status"},
                                    "ExpressionAttributeValues": {":drawing": {"S": DRAWING}}}}
        return [GuardedWrite.failing_with(check, lambda: GroupLockedForDraw(group_id=group.group_id,
                                                                            campaign_id=group.campaign_id))]

    def _meta(self, group_id: str) -> Mapping[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key=_key(f"GROUP#{group_id}", "META"),
                                    ConsistentRead=True).get("Item")
        return from_item(item) if item else None
