"""Domain errors of risk signals (no HTTP here: ``shared.api.errors`` maps the bases)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound


class DeviceNotFound(NotFound):
    code = "DEVICE_NOT_FOUND"
    default_message = "No such device among the caller's devices."


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"
    default_message = "No such session for the caller."


class TagNotSet(NotFound):
    code = "TAG_NOT_SET"
    default_message = "The user does not carry this watch-list tag."


class UnknownTag(InvalidInput):
    code = "UNKNOWN_TAG"
    default_message = "Unknown watch-list tag (HIGH_RISK, BLACK, GREY, SENSITIVE)."


class InvalidIpAddress(InvalidInput):
    code = "INVALID_IP_ADDRESS"
    default_message = "Not an IPv4 or IPv6 address."


class ProfileChanged(Conflict):
    """Another write moved the profile's version between our read and our write: re-read and retry."""

    code = "PROFILE_CHANGED"
    default_message = "The activity profile changed concurrently; retry."


class AlreadyProjected(Conflict):
    """The ledger entry's put-once marker exists: the entry is already in the profile (a redelivery)."""

    code = "ALREADY_PROJECTED"
    default_message = "This ledger entry was already projected."


class ContactAlreadyCounted(Conflict):
    """A concurrent projection counted this counterparty first: fold the entry in without counting it again."""

    code = "CONTACT_ALREADY_COUNTED"
    default_message = "The counterparty is already counted."


class SessionAlreadyExists(Conflict):
    code = "SESSION_EXISTS"
    default_message = "A session with this id already exists."
