"""Domain entities of bank binding (not the HTTP shapes, not the DynamoDB items)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class PartnerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class PartnerKey(BaseModel):
    """A signing key: its secret is stored only encrypted (``shared.crypto`` envelope under ``PersonalDataKey``,
    purpose ``wallet-binding-partner-keys``, context partner id + key id)."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    encrypted_secret: str
    created_at: datetime
    valid_until: datetime | None = None  # set when a newer key replaced it (the rotation's grace period)

    def usable_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


class Partner(BaseModel):
    model_config = ConfigDict(frozen=True)

    partner_id: str
    name: str
    status: PartnerStatus = PartnerStatus.ACTIVE
    callback_url: str
    keys: dict[str, PartnerKey]
    suspended_reason: str | None = None
    created_at: datetime
    version: int = 1

    @property
    def current_key(self) -> PartnerKey:
        """The newest key (it signs callbacks)."""
        return max(self.keys.values(), key=lambda k: k.created_at)


class RequestStatus(StrEnum):
    REGISTERING = "REGISTERING"  # finding or registering the customer's account
    AWAITING_BANK = "AWAITING_BANK"  # the account id went to the bank; waiting for its confirmation
    BOUND = "BOUND"
    FAILED = "FAILED"


OPEN_STATUSES = frozenset({RequestStatus.REGISTERING, RequestStatus.AWAITING_BANK})


class FailureReason(StrEnum):
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"  # the account's real-name identity is another person's
    ALREADY_BOUND = "ALREADY_BOUND"  # the card is bound (this bank, same card-token fingerprint)
    CONFIRMATION_TIMEOUT = "CONFIRMATION_TIMEOUT"  # the bank did not confirm in time
    BANK_REJECTED = "BANK_REJECTED"  # the bank said it will not bind
    CONFIRMATION_MISMATCH = "CONFIRMATION_MISMATCH"  # confirmed another account or card token
    ACCOUNT_NOT_USABLE = "ACCOUNT_NOT_USABLE"  # the phone's account is frozen or closed
    ACCOUNT_PENDING = "ACCOUNT_PENDING"  # another binding request is registering this phone's account
    ACCOUNT_CONFLICT = "ACCOUNT_CONFLICT"  # the phone's user already holds an account without this phone
    PARTNER_SUSPENDED = "PARTNER_SUSPENDED"
    WORKFLOW_ERROR = "WORKFLOW_ERROR"  # an unexpected error; compensated


class CardType(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


class BindingRequest(BaseModel):
    """One bank request to bind a card, and the saga's progress. Personal data: ``phone`` (E.164, as on the
    account), the ID number keyed-hashed, masked and encrypted (context: the request id; moved onto the binding at
    the confirmation and dropped from the request when it ends), the name only encrypted and masked."""

    model_config = ConfigDict(frozen=True)

    binding_request_id: str
    partner_id: str
    bank_customer_ref: str
    status: RequestStatus = RequestStatus.REGISTERING
    phone: str
    name_masked: str
    name_encrypted: str
    id_hash: str
    id_masked: str
    id_encrypted: str | None = None  # None once the request ended (BOUND: the binding holds it; FAILED: dropped)
    card_fingerprint: str
    card_last4: str
    card_type: CardType
    card_expiry: str | None = None
    inflight_key: str
    account_id: str | None = None
    owner: str | None = None
    created_account: bool = False  # this request registered the account (compensation closes it)
    binding_id: str | None = None  # set by the bank's confirmation (the card claim is written with it)
    confirm_by: datetime | None = None
    reason: FailureReason | None = None
    callback_delivered: bool = False
    task_token: str | None = None  # the saga's waiting task while AWAITING_BANK
    version: int = 0  # optimistic concurrency: every transition is conditional on it
    created_at: datetime
    updated_at: datetime


class BindingStatus(StrEnum):
    ACTIVE = "ACTIVE"
    UNBOUND = "UNBOUND"


class Binding(BaseModel):
    """A card of a bank bound to a payment account (unique per bank and card-token fingerprint while ACTIVE)."""

    model_config = ConfigDict(frozen=True)

    binding_id: str
    binding_request_id: str
    owner: str
    account_id: str
    partner_id: str
    partner_name: str
    card_fingerprint: str
    card_last4: str
    card_type: CardType
    id_hash: str
    # The card holder's ID number, envelope-encrypted (context: binding id + owner) for §5's candidate set while the
    # binding is active; dropped when it is unbound.
    holder_id_encrypted: str | None = None
    status: BindingStatus = BindingStatus.ACTIVE
    activated: bool = False  # the saga finished: account active, gate set
    first_use_cleared_at: datetime | None = None
    created_at: datetime
    unbound_at: datetime | None = None
    # The unbinding request's tag (``shared.api.idempotency.request_tag``: caller + Idempotency-Key): the same
    # request retried after a crash past its commit answers the unbinding again instead of 404.
    unbind_request: str | None = None


class CustomerIdentity(BaseModel):
    """The bank-provided (unverified) identity a binding records for a user who has no verified real-name (§5's
    own record, ``REALNAME#<sub>`` in ``RealNameTable``, is what the identity check reads). The ID number is only
    keyed-hashed and masked."""

    model_config = ConfigDict(frozen=True)

    owner: str
    id_hash: str
    id_masked: str
    name_masked: str
    verified: bool = False
    source: str  # BANK:<partner_id>
    recorded_at: datetime


class PassedVerification(BaseModel):
    """What §4 reports when a verification passed (the first-use gate checks it)."""

    model_config = ConfigDict(frozen=True)

    owner: str
    operation: str
    method: str
    strength: str
    verification_id: str
