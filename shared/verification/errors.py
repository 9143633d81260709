"""Domain errors of adaptive verification; each subclasses a ``shared.errors`` base, so the one registry maps it.

Too many failures is the platform's one ``shared.errors.TooManyAttempts`` (``429`` with ``Retry-After``;
CONTRACTS.md: the same rule and code for §4 challenges and §5 sessions).
"""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.ledger.ports import StaleAuthorization


class VerificationNotFound(NotFound):
    code = "VERIFICATION_NOT_FOUND"
    default_message = "The verification does not exist."


class DecisionNotFound(NotFound):
    code = "DECISION_NOT_FOUND"
    default_message = "The verification decision does not exist."


class VerificationRequired(Forbidden):
    """The operation needs a verification token (details: the verification to complete and its methods)."""

    code = "VERIFICATION_REQUIRED"
    default_message = "This operation requires a verification: complete it and send X-Verification-Token."


class VerificationDenied(Forbidden):
    code = "VERIFICATION_DENIED"
    default_message = "The operation was refused by the risk policy."


class VerificationInvalid(Forbidden):
    """A token that is unknown, expired, used, another user's, or for another operation, amount or payee."""

    code = "VERIFICATION_INVALID"
    default_message = "The verification token is not valid for this user and operation."


class VerificationNotOpen(Conflict):
    code = "VERIFICATION_NOT_OPEN"
    default_message = "The verification is not waiting for an attempt (passed, expired, or needs none)."


class VerificationExpired(Conflict):
    code = "VERIFICATION_EXPIRED"
    default_message = "The verification has expired; trigger a new one."


class MethodNotOffered(InvalidInput):
    code = "METHOD_NOT_OFFERED"
    default_message = "This method is not one of the verification's methods."


class OtpNotSent(Conflict):
    code = "OTP_NOT_SENT"
    default_message = "No one-time code was sent for this verification; request one first."


class NoPhone(Conflict):
    code = "NO_PHONE"
    default_message = "The account has no phone number to send a code to."


class PasswordNotSet(Conflict):
    code = "PASSWORD_NOT_SET"
    default_message = "No payment password is set."


class InvalidPassword(InvalidInput):
    code = "INVALID_PASSWORD"
    default_message = "The password does not meet the rules."


class PhoneChangeNotFound(NotFound):
    code = "PHONE_CHANGE_NOT_FOUND"
    default_message = "There is no pending phone change."


class SamePhone(InvalidInput):
    code = "SAME_PHONE"
    default_message = "The new phone number is the current one."


class FaceNotAvailable(Conflict):
    code = "FACE_NOT_AVAILABLE"
    default_message = "Face verification is not available for this user (no enrolled face)."



class StaleState(Conflict):
    """A concurrent change to the same verification or user state: re-read and decide again (internal)."""

    code = "CONFLICT"


class ExemptionExhausted(Conflict, StaleAuthorization):
    """The low-value counters changed since the decision (a concurrent exempted payment): decide again."""

    code = "EXEMPTION_EXHAUSTED"
    default_message = "The exemption no longer applies; the payment needs a verification."
