"""Group rules: one group per user; the creator is the key user; members only see their group."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.clock import utcnow
from shared.groups.errors import GroupNotFound, InvitationNotFound, KeyUserCannotLeave
from shared.groups.models import Group, Invitation
from shared.groups.ports import EventPublisher, GroupStore

INVITATION_TTL = timedelta(days=7)


class GroupService:
    """Also what campaigns need from groups (their ``GroupDirectory`` port: key users and members)."""

    def __init__(self, store: GroupStore, events: EventPublisher,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.events = events
        self.clock = clock

    def create(self, owner: str, name: str) -> Group:
        group = Group(group_id=f"grp_{uuid.uuid4().hex}", name=name, owner=owner, created_at=self.clock(),
                      members=(owner,))
        self.store.create(group)
        self.events.publish("GroupCreated", {"group_id": group.group_id, "key_user": owner})
        return group

    def get(self, group_id: str, caller: str) -> Group:
        group = self.store.get(group_id)
        if group is None or caller not in group.members:
            raise GroupNotFound(group_id=group_id)
        return group

    def invite(self, group_id: str, caller: str) -> Invitation:
        self.get(group_id, caller)
        invitation = Invitation(code=secrets.token_urlsafe(12), group_id=group_id, created_by=caller,
                                expires_at=self.clock() + INVITATION_TTL)
        self.store.put_invitation(invitation)
        return invitation

    def join(self, code: str, user_id: str) -> Group:
        invitation = self.store.get_invitation(code)
        now = self.clock()
        if invitation is None or invitation.expires_at <= now:
            raise InvitationNotFound()
        self.store.join(invitation, user_id, now)
        self.events.publish("GroupJoined", {"group_id": invitation.group_id, "user_id": user_id})
        return self.get(invitation.group_id, user_id)

    def leave(self, group_id: str, user_id: str) -> None:
        group = self.get(group_id, user_id)
        if group.owner == user_id:
            raise KeyUserCannotLeave(group_id=group_id)
        self.store.leave(group_id, user_id)
        self.events.publish("GroupLeft", {"group_id": group_id, "user_id": user_id})

    # --- GroupDirectory -------------------------------------------------------
    def group_count(self, user_id: str) -> int:
        """How many groups the user belongs to (risk signals' ``Memberships`` port)."""
        return 1 if self.store.membership(user_id) else 0

    def key_user_group(self, user_id: str) -> str | None:
        membership = self.store.membership(user_id)
        return membership[0] if membership and membership[1] == "KEY_USER" else None

    def members(self, group_id: str) -> list[str]:
        group = self.store.get(group_id)
        return list(group.members) if group else []
