"""Interfaces the group service depends on (DynamoDB / EventBridge in production, fakes in unit tests).

The store enforces the invariants *in the write*: one group per user (put-once
membership), an invitation's expiry and the member cap are conditions of the join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.events import EventPublisher
from shared.groups.models import Group, Invitation

__all__ = ["EventPublisher", "GroupStore"]


class GroupStore(Protocol):
    def create(self, group: Group) -> None:
        """The group with its creator as key user and only member. Raises ``AlreadyInGroup``."""

    def membership(self, user_id: str) -> tuple[str, str] | None:
        """(group id, role: ``KEY_USER`` or ``MEMBER``) of the user's one group, if any."""

    def get(self, group_id: str) -> Group | None: ...

    def put_invitation(self, invitation: Invitation) -> None: ...

    def get_invitation(self, code: str) -> Invitation | None: ...

    def join(self, invitation: Invitation, user_id: str, now: datetime) -> None:
        """Raises ``InvitationNotFound`` (expired), ``AlreadyInGroup`` or ``GroupFull``."""

    def leave(self, group_id: str, user_id: str) -> None:
        """Raises ``GroupNotFound`` unless the user is a (non-key-user) member of the group."""
