"""Group rules: a group lives in one campaign's context; a user holds at most one group per campaign; the creator
is the group's key user (of that campaign only) and cannot leave; members only see their group; while the
campaign's draw runs, a group holding a group-shared voucher keeps its members (the draw pays the members it
snapshotted at the freeze)."""

from __future__ import annotations

import hashlib
import random
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.clock import iso, utcnow
from shared.errors import TemporarilyUnavailable
from shared.groups.errors import AlreadyInGroup, GroupNotFound, InvitationNotFound, KeyUserCannotLeave
from shared.groups.models import Group, Invitation, Role
from shared.groups.ports import ConflictingWrite, GroupChanged, GroupStore, GuardedWrite
from shared.outbox import OutboxEvent, domain_event

EVENT_SOURCE = "wallet.campaigns"  # groups exist for the campaigns' key users: the source consumers know

INVITATION_TTL = timedelta(days=7)


def group_event(detail_type: str, detail: dict[str, object], at: datetime, *identity: str) -> OutboxEvent:
    """A group event for the outbox (written with the change; ``identity``: the change's own ids)."""
    return domain_event(EVENT_SOURCE, detail_type, detail, at, *identity)

MAX_ATTEMPTS = 8
RETRY = (GroupChanged, ConflictingWrite)  # the group changed since read, or contention: re-read, retry


class GroupService:
    """Also what campaigns need from groups (their ``GroupDirectory`` port: key users, members, the draw lock)."""

    def __init__(self, store: GroupStore, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.clock = clock
        self.rng = rng or random.Random()
        self.sleep = sleep

    def create(self, owner: str, name: str, campaign_id: str, request: str | None = None) -> Group:
        """A group in the campaign's context (the caller checked the campaign); its creator is its key user.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``); the group id derives from it, so
        the same request retried after a crash past its commit answers the group it created (another request of
        a user who has a group in the campaign: ``AlreadyInGroup``)."""
        group = Group(group_id=_group_id(campaign_id, request), name=name, owner=owner, campaign_id=campaign_id,
                      created_at=self.clock(), members=(owner,))
        created = group_event("GroupCreated", {"group_id": group.group_id, "key_user": owner,
                                               "campaign_id": campaign_id}, group.created_at, group.group_id)
        try:
            self._retrying(lambda: self.store.create(group, events=[created]))
        except AlreadyInGroup:
            made = self.store.get(group.group_id) if request else None
            membership = self.store.membership(owner, campaign_id) if made else None
            if made is None or membership is None or membership[0] != group.group_id:
                raise
            return made  # this request created it; its answer was lost
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

    def join(self, code: str, user_id: str, request: str | None = None) -> Group:
        """``request``: the request's tag, recorded on the membership; the same request retried after a crash past
        its commit answers the group again (another request: ``AlreadyInGroup``)."""
        invitation = self.store.get_invitation(code)
        now = self.clock()
        if invitation is None or invitation.expires_at <= now:
            raise InvitationNotFound()

        def attempt() -> None:
            group = self.store.get(invitation.group_id)
            if group is None:
                raise GroupNotFound(group_id=invitation.group_id)
            joined = group_event("GroupJoined", {"group_id": group.group_id, "user_id": user_id}, now,
                                 group.group_id, user_id, iso(now))
            try:
                self.store.join(invitation, group, user_id, now, events=[joined], request=request)
            except AlreadyInGroup:
                if not request or self.store.joined_with(user_id, group.campaign_id) != (group.group_id, request):
                    raise  # this request did not join it (its answer lost): the conflict stands

        self._retrying(attempt)
        return self.get(invitation.group_id, user_id)

    def leave(self, group_id: str, user_id: str, request: str | None = None) -> None:
        """``request``: the request's tag, recorded with the leave; the same request retried after a crash past
        its commit answers as the first did (another request: ``GroupNotFound``, the user is no member)."""
        def attempt() -> None:
            try:
                group = self.get(group_id, user_id)
            except GroupNotFound:
                if request and self.store.left_with(user_id, group_id) == request:
                    return  # this request left it; its answer was lost
                raise
            if group.owner == user_id:
                raise KeyUserCannotLeave(group_id=group_id)
            now = self.clock()
            left = group_event("GroupLeft", {"group_id": group_id, "user_id": user_id}, now, group_id, user_id,
                               iso(now))
            self.store.leave(group, user_id, events=[left], request=request)

        self._retrying(attempt)

    def _retrying(self, write: Callable[[], None]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            try:
                write()
                return
            except RETRY:
                self.sleep(self.rng.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise TemporarilyUnavailable()

    # --- GroupDirectory -------------------------------------------------------
    def group_count(self, user_id: str) -> int:
        """How many groups the user belongs to, over every campaign (risk signals' ``Memberships`` port)."""
        return self.store.membership_count(user_id)

    def key_user_group(self, user_id: str, campaign_id: str) -> str | None:
        membership = self.store.membership(user_id, campaign_id)
        return membership[0] if membership and membership[1] is Role.KEY_USER else None

    def members(self, group_id: str) -> list[str]:
        group = self.store.get(group_id)
        return list(group.members) if group else []

    def shared_voucher_write(self, group_id: str, key_user: str, campaign_id: str, voucher_id: str,
                             on_failure: Callable[[], Exception]) -> GuardedWrite:
        return self.store.shared_voucher_write(group_id, key_user, campaign_id, voucher_id, on_failure)

    def lock_for_draw(self, campaign_id: str) -> None:
        self.store.lock_for_draw(campaign_id)

    def unlock_after_draw(self, campaign_id: str) -> None:
        self.store.unlock_after_draw(campaign_id)


def _group_id(campaign_id: str, request: str | None) -> str:
    """``grp_`` + 32 hex: derived from (campaign, request tag) when there is one, random otherwise."""
    if request is None:
        return f"grp_{uuid.uuid4().hex}"
    return "grp_" + hashlib.sha256(f"{campaign_id}\x1f{request}".encode()).hexdigest()[:32]
