"""Interfaces the group service depends on (DynamoDB / EventBridge in production, fakes in unit tests).

The store enforces the invariants *in the write*, each condition a ``GuardedWrite`` carrying the error it stands
for: one group per user and campaign (put-once membership), an invitation's expiry and the member cap are
conditions of the join, and a group holding a group-shared voucher changes members only while its campaign's draw
is not running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from shared.groups.models import Group, Invitation, Role
from shared.outbox import OutboxEvent
from shared.writes import ConflictingWrite, GuardedWrite

__all__ = ["ConflictingWrite", "GroupChanged", "GroupStore", "GuardedWrite", "OutboxEvent"]


class GroupChanged(Exception):
    """The group gained its group-shared voucher since it was read (the key user claimed it): re-read, retry."""


class GroupStore(Protocol):
    def create(self, group: Group, events: Sequence[OutboxEvent] = ()) -> None:
        """``events`` (as for ``join`` and ``leave``) commit with the change (the outbox). The group with its
        creator as key user and only member. Raises ``AlreadyInGroup`` (the owner has a
        group in this campaign) or ``AlreadyExists`` (the group id is taken)."""

    def membership(self, user_id: str, campaign_id: str) -> tuple[str, Role] | None:
        """(group id, role) of the user's one group in the campaign, if any."""

    def membership_count(self, user_id: str) -> int:
        """In how many campaigns' groups the user is."""

    def get(self, group_id: str) -> Group | None: ...

    def put_invitation(self, invitation: Invitation) -> None: ...

    def get_invitation(self, code: str) -> Invitation | None: ...

    def join(self, invitation: Invitation, group: Group, user_id: str, now: datetime,
             events: Sequence[OutboxEvent] = (), request: str | None = None) -> None:
        """``request`` (the joining request's tag) is recorded on the membership (``joined_with``). Raises
        ``InvitationNotFound`` (expired), ``AlreadyInGroup``, ``GroupFull``, ``GroupNotFound``, ``GroupLockedForDraw``,
        ``GroupChanged`` or ``ConflictingWrite``."""

    def joined_with(self, user_id: str, campaign_id: str) -> tuple[str, str | None] | None:
        """(group id, the joining request's tag) of the user's membership in the campaign, if any."""

    def leave(self, group: Group, user_id: str, events: Sequence[OutboxEvent] = (),
              request: str | None = None) -> None:
        """``request`` (the leaving request's tag) is recorded with the leave (``left_with``). Raises
        ``GroupNotFound`` unless the user is a (non-key-user) member of the group; ``GroupLockedForDraw``,
        ``GroupChanged`` or ``ConflictingWrite``."""

    def left_with(self, user_id: str, group_id: str) -> str | None:
        """The tag of the request with which the user last left the group, if any."""

    def shared_voucher_write(self, group_id: str, key_user: str, campaign_id: str, voucher_id: str,
                             on_failure: Callable[[], Exception]) -> GuardedWrite:
        """Records the group-shared voucher on the group, on condition that ``key_user`` created the group in this
        campaign; for another capability's transaction (the key-user claim)."""

    def lock_for_draw(self, campaign_id: str) -> None:
        """The campaign's draw lock: DRAWING (unless the draw was already settled). Idempotent."""

    def unlock_after_draw(self, campaign_id: str) -> None:
        """The campaign's draw lock: SETTLED. Idempotent."""
