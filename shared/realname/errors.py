"""Domain errors of real-name authentication (no HTTP; ``shared.api.errors`` maps them by their bases)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"
    default_message = "No such real-name session."


class SessionExpired(Conflict):
    code = "SESSION_EXPIRED"
    default_message = "The real-name session has expired; start a new one."


class SessionNotAwaiting(Conflict):
    code = "SESSION_STATE_CONFLICT"
    default_message = "The real-name session is not waiting for this answer."


class MissingIdentityField(InvalidInput):
    code = "IDENTITY_FIELD_REQUIRED"
    default_message = "A required identity field is missing."


class AlreadyVerified(Conflict):
    code = "ALREADY_REAL_NAME_VERIFIED"
    default_message = "This account is already real-name verified."


class IdentityInUse(Exception):
    """The identity's put-once claim belongs to another account (recorded as a FAILED session, not a 4xx)."""


class IdentityClaimLost(Exception):
    """A concurrent request of the same session won its transition."""
