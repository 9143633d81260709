"""Domain errors of bank binding (SPEC §6). No HTTP: ``shared.api.errors`` maps them by their bases."""

from __future__ import annotations

from shared.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


# --- partner request signatures (RFC 9421): 401 -------------------------------------------
class SignatureMissing(Unauthenticated):
    code = "SIGNATURE_MISSING"
    default_message = "Partner requests must carry Signature-Input and Signature headers (RFC 9421)."


class SignatureInvalid(Unauthenticated):
    code = "SIGNATURE_INVALID"
    default_message = "The request signature does not verify."


class SignatureComponentsMissing(Unauthenticated):
    code = "SIGNATURE_COMPONENTS_MISSING"
    default_message = "The signature must cover @method, @target-uri and, with a body, content-digest."


class SignatureExpired(Unauthenticated):
    code = "SIGNATURE_EXPIRED"
    default_message = "The signature's created time is too old or in the future."


class NonceReplayed(Unauthenticated):
    code = "NONCE_REPLAYED"
    default_message = "This signature nonce was already used."


class DigestMismatch(Unauthenticated):
    code = "DIGEST_MISMATCH"
    default_message = "Content-Digest does not match the request body."


class KeyNotPartners(Unauthenticated):
    code = "KEY_NOT_PARTNERS"
    default_message = "The signature's keyid is not a key of the calling partner."


class KeyExpired(Unauthenticated):
    code = "KEY_EXPIRED"
    default_message = "The signature's key was rotated out and its grace period has ended."


# --- partners -------------------------------------------------------------------------------
class PartnerNotFound(NotFound):
    code = "PARTNER_NOT_FOUND"
    default_message = "The partner does not exist."


class PartnerSuspended(Forbidden):
    code = "PARTNER_SUSPENDED"
    default_message = "The partner is suspended."


class NotAPartner(Forbidden):
    code = "PARTNER_REQUIRED"
    default_message = "Requires a partner token with a partner id claim."


class InvalidCallbackUrl(InvalidInput):
    code = "INVALID_CALLBACK_URL"
    default_message = "callback_url must be an https URL with a host name."


class PartnerChanged(Conflict):
    code = "PARTNER_CHANGED"
    default_message = "The partner changed concurrently; retry."


# --- binding requests -----------------------------------------------------------------------
class BindingRequestNotFound(NotFound):
    code = "BINDING_REQUEST_NOT_FOUND"
    default_message = "No such binding request."


class BindingNotAwaitingBank(Conflict):
    code = "BINDING_NOT_AWAITING_BANK"
    default_message = "The binding request is not waiting for the bank's confirmation."


class AlreadyBound(AlreadyExists):
    code = "ALREADY_BOUND"
    default_message = "This card is already bound to a payment account."


class ConfirmationMismatch(InvalidInput):
    code = "CONFIRMATION_MISMATCH"
    default_message = "The confirmation names another account or card token; the binding request was rejected."


class ConfirmationTooLate(Conflict):
    code = "CONFIRMATION_TOO_LATE"
    default_message = "The confirmation window has closed; the binding request failed."


# --- user side --------------------------------------------------------------------------------
class BindingNotFound(NotFound):
    code = "BINDING_NOT_FOUND"
    default_message = "No such binding."


class VerificationRequired(Forbidden):
    code = "VERIFICATION_REQUIRED"
    default_message = "This operation requires an X-Verification-Token for ACCOUNT_UPDATE."


class VerificationInvalid(Forbidden):
    code = "VERIFICATION_INVALID"
    default_message = "The verification token is not valid for this user and operation."


class WeakMethodNotAccepted(Forbidden):
    code = "STRONG_VERIFICATION_REQUIRED"
    default_message = "BINDING_FIRST_USE requires a strong verification method (FACE or CARD)."
