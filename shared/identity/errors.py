"""Domain errors of identity verification; each subclasses a ``shared.errors`` base the registry maps."""

from __future__ import annotations

from shared.decisions import SelfReview as SelfReview  # the platform-wide refusal, still importable from here
from shared.errors import Conflict, InvalidInput, NotFound


class UnknownIdentityType(InvalidInput):
    code = "UNKNOWN_IDENTITY_TYPE"
    default_message = "This identity type is not supported."


class InvalidClaim(InvalidInput):
    code = "INVALID_CLAIM"
    default_message = "The claimed identity fields are not valid for this identity type."


class UnsupportedDocumentType(InvalidInput):
    code = "UNSUPPORTED_DOCUMENT_TYPE"
    default_message = "The document must be a JPEG, PNG or PDF file."


class InvalidCredentialNumber(InvalidInput):
    code = "INVALID_CREDENTIAL_NUMBER"
    default_message = "The credential number is not valid for this identity type."


class DocumentTooLarge(InvalidInput):
    code = "DOCUMENT_TOO_LARGE"
    default_message = "The uploaded document is empty or larger than allowed; upload it again."


class DocumentTypeMismatch(InvalidInput):
    code = "DOCUMENT_TYPE_MISMATCH"
    default_message = "The uploaded file's type differs from the declared content type; upload it again."


class CredentialExpired(InvalidInput):
    code = "CREDENTIAL_EXPIRED"
    default_message = "The credential's validity has ended; upload a valid credential."


class VerificationNotFound(NotFound):
    code = "VERIFICATION_NOT_FOUND"
    default_message = "The verification does not exist."


class ReviewNotFound(NotFound):
    code = "REVIEW_NOT_FOUND"
    default_message = "The review does not exist."


class InvalidTransition(Conflict):
    code = "INVALID_STATE"
    default_message = "The verification is not in a state that allows this operation."


class ConcurrentAttempt(Conflict):
    code = "ATTEMPT_IN_PROGRESS"
    default_message = "Another verification attempt for this identity type is in progress."


class DocumentNotUploaded(Conflict):
    code = "DOCUMENT_NOT_UPLOADED"
    default_message = "No uploaded document was found; request an upload URL and upload the file first."


class ReviewClosed(Conflict):
    code = "REVIEW_CLOSED"
    default_message = "The review is no longer open."


class WaitExpired(Conflict):
    code = "WAIT_EXPIRED"
    default_message = "The verification stopped waiting (timed out); start a new attempt."


class CredentialHeldElsewhere(Conflict):
    code = "CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT"
    default_message = "This credential is already verified for another account."


class TaskExpired(Exception):
    """Port-level signal: the task token is no longer valid (the wait timed out or the execution ended)."""


class RegistryUnavailable(Exception):  # the class name is the error name the state machine retries
    """Port-level signal: the registry did not answer usably (timeout, 5xx, malformed answer); safe to retry."""
