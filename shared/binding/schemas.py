"""HTTP request/response models of bank binding, mapped explicitly from entities.

Card numbers are never accepted: ``card.token`` is the bank's opaque token (16-64 of ``[A-Za-z0-9_-]`` with at
least one letter), and a PAN-like value (13-19 digits passing the Luhn check, spaces or dashes allowed) in any
field other than ``phone`` and ``id_number`` makes the request a 422 (``card_number_not_accepted``) before
anything is stored or logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from shared.api.auth import E164
from shared.binding.cards import masked_card
from shared.binding.models import Binding, BindingRequest, CardType, Partner, PartnerKey, RequestStatus
from shared.identity_numbers import IdNumber, contains_pan
from shared.types import AccountId, Name, Reason

_PAN_EXEMPT = frozenset({"phone", "id_number"})


def _has_letter(value: str) -> str:
    if not any(c.isalpha() for c in value):
        raise PydanticCustomError("card_token_invalid",
                                  "card.token must contain a letter (a bare digit string may be a card number).")
    return value


CardToken = Annotated[str, StringConstraints(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$"),
                      AfterValidator(_has_letter)]
Phone = Annotated[str, StringConstraints(pattern=E164.pattern)]
Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
Expiry = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$")]
CustomerRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")]
CallbackUrl = Annotated[str, StringConstraints(min_length=8, max_length=512, pattern=r"^https?://[\x21-\x7e]+$")]


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, str(i)))


class NoCardNumbers(BaseModel):
    """Refuses a PAN-like value anywhere in the body except phone and id_number (the value is never echoed)."""

    @model_validator(mode="before")
    @classmethod
    def _no_pan(cls, data: Any) -> Any:
        for path, text in _strings(data):
            if path and path[-1] in _PAN_EXEMPT:
                continue
            if contains_pan(text):
                raise PydanticCustomError("card_number_not_accepted",
                                          "A card number is not accepted in {field}; send the bank's card token.",
                                          {"field": ".".join(path)})
        return data


# --- admin: partners -------------------------------------------------------------------------------
class CreatePartnerRequest(NoCardNumbers):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="The bank's display name (shown to users next to their bindings).")
    callback_url: CallbackUrl = Field(description="https URL the platform POSTs signed binding callbacks to.")


class SuspendPartnerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class KeyInfo(BaseModel):
    key_id: str
    created_at: datetime
    valid_until: datetime | None = Field(default=None, description="End of the rotation grace period.")

    @classmethod
    def of(cls, key: PartnerKey) -> KeyInfo:
        return cls(key_id=key.key_id, created_at=key.created_at, valid_until=key.valid_until)


class PartnerResponse(BaseModel):
    partner_id: str
    name: str
    status: str
    callback_url: str
    keys: list[KeyInfo]
    created_at: datetime

    @classmethod
    def of(cls, p: Partner) -> PartnerResponse:
        return cls(partner_id=p.partner_id, name=p.name, status=p.status.value, callback_url=p.callback_url,
                   keys=[KeyInfo.of(k) for k in sorted(p.keys.values(), key=lambda k: k.created_at)],
                   created_at=p.created_at)


class PartnerKeyResponse(BaseModel):
    partner_id: str
    key_id: str
    algorithm: Literal["hmac-sha256"] = "hmac-sha256"
    secret: str | None = Field(
        description="Base64 of the 32-byte HMAC key: shown once. A replay of this call (same Idempotency-Key) "
                    "returns null: the secret is not stored in clear anywhere.", examples=["c2VjcmV0..."])
    callback_key_id: str = Field(description="keyid of the platform's callbacks signed with this key.")
    partner: PartnerResponse


# --- partners: binding requests ----------------------------------------------------------------------
class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone = Field(description="E.164, e.g. +8613812345678.", examples=["+8613812345678"])
    name: Name
    id_number: IdNumber = Field(description="Resident identity number (GB 11643, checksum verified).")


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: CardToken = Field(description="The bank's opaque card token (never a card number).")
    last4: Last4
    type: CardType
    expiry: Expiry | None = Field(default=None, description="MM/YY.")


class CreateBindingRequest(NoCardNumbers):
    model_config = ConfigDict(extra="forbid")

    customer: Customer
    card: Card
    bank_customer_ref: CustomerRef = Field(description="The bank's own reference of its customer.")


class BindingRequestResponse(BaseModel):
    binding_request_id: str
    status: Literal["REGISTERING", "AWAITING_BANK", "BOUND", "FAILED"]
    account_id: str | None = Field(default=None, description="The payment account, once known to the bank.")
    confirm_by: datetime | None = Field(default=None, description="While AWAITING_BANK: the confirmation deadline.")
    reason: str | None = Field(default=None, description="Why it FAILED (IDENTITY_MISMATCH, ALREADY_BOUND, ...).")
    created_at: datetime

    @classmethod
    def of(cls, r: BindingRequest) -> BindingRequestResponse:
        shows_account = r.status in (RequestStatus.AWAITING_BANK, RequestStatus.BOUND)
        return cls(binding_request_id=r.binding_request_id, status=r.status.value,  # type: ignore[arg-type]
                   account_id=r.account_id if shows_account else None,
                   confirm_by=r.confirm_by if r.status is RequestStatus.AWAITING_BANK else None,
                   reason=r.reason.value if r.reason else None, created_at=r.created_at)


class ConfirmBindingRequest(NoCardNumbers):
    model_config = ConfigDict(extra="forbid")

    account_id: AccountId
    card_token: CardToken


class RejectBindingRequest(NoCardNumbers):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


# --- users ------------------------------------------------------------------------------------------------
class BindingResponse(BaseModel):
    binding_id: str
    bank_name: str
    card: str = Field(description="Masked card number.", examples=["**** 1234"])
    card_type: CardType
    account_id: str
    first_use_verified: bool = Field(description="False until a BINDING_FIRST_USE verification passed.")
    created_at: datetime

    @classmethod
    def of(cls, b: Binding) -> BindingResponse:
        return cls(binding_id=b.binding_id, bank_name=b.partner_name, card=masked_card(b.card_last4),
                   card_type=b.card_type, account_id=b.account_id,
                   first_use_verified=b.first_use_cleared_at is not None, created_at=b.created_at)


class BindingsResponse(BaseModel):
    items: list[BindingResponse]


class UnbindResponse(BaseModel):
    binding_id: str
    status: Literal["UNBOUND"] = "UNBOUND"
    unbound_at: datetime | None = None


# --- path parameters and workflow steps -----------------------------------------------------------------
PartnerId = Annotated[str, StringConstraints(pattern=r"^ptn_[0-9a-f]{16}$")]
BindingRequestId = Annotated[str, StringConstraints(pattern=r"^br_[0-9a-f]{24}$")]
BindingId = Annotated[str, StringConstraints(pattern=r"^bnd_[0-9a-f]{24}$")]


class StepInput(BaseModel):
    """What the state machine passes to a step."""

    binding_request_id: str
    task_token: str | None = None
    confirm_timeout_seconds: int | None = None
    reason: str | None = None
