"""Domain errors of groups."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class GroupNotFound(NotFound):
    code = "GROUP_NOT_FOUND"
    default_message = "No such group among the caller's groups."


class InvitationNotFound(NotFound):
    code = "INVITATION_NOT_FOUND"
    default_message = "The invitation code is unknown or has expired."


class AlreadyInGroup(Conflict):
    code = "ALREADY_IN_GROUP"
    default_message = "The caller already belongs to a group in this campaign; leave it first."


class KeyUserCannotLeave(Conflict):
    code = "KEY_USER_CANNOT_LEAVE"
    default_message = "The group's creator (its key user) cannot leave it."


class GroupFull(Conflict):
    code = "GROUP_FULL"
    default_message = "The group has reached its maximum number of members."


class GroupLockedForDraw(Conflict):
    code = "GROUP_LOCKED_FOR_DRAW"
    default_message = ("The group holds a group-shared voucher of a campaign whose draw is running: its members are "
                       "fixed until the draw is settled.")
