"""Reusable constrained types shared by request models, entities and items."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints

# 2**53 - 1: the largest integer every JSON client (JavaScript included) represents exactly.
MAX_MINOR_UNITS = 9_007_199_254_740_991

UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.@]+$")]
AccountId = Annotated[str, StringConstraints(min_length=4, max_length=64, pattern=r"^[a-z]{2,4}_[A-Za-z0-9_\-]+$")]
TransactionId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.#]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CampaignId = Annotated[str, StringConstraints(pattern=r"^cmp_[0-9a-f]{32}$")]
MinorUnits = Annotated[StrictInt, Field(gt=0, le=MAX_MINOR_UNITS)]

# Bidirectional embeddings, overrides and isolates (and the marks that steer them): they make a screen show
# text in another order than it is stored ("Trojan Source", CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def _displayable(value: str) -> str:
    for ch in value:
        if ch in BIDI_CONTROLS:
            raise ValueError(f"bidirectional control character U+{ord(ch):04X} is not allowed")
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(f"control character U+{ord(ch):04X} is not allowed")
    return value


def safe_text(max_length: int, min_length: int = 1) -> Any:
    """Free text that is safe to show on any screen: NFC-normalised and trimmed, then length-limited, with no
    control characters (NUL, newlines, escapes) and no bidirectional overrides. The one type every schema
    uses for names, notes and reasons."""
    return Annotated[str, BeforeValidator(_nfc), StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(_displayable)]


def check_safe_text(value: str) -> str:
    """The ``safe_text`` rules for text inside a structure whose shape is configuration (e.g. a claim's fields):
    NFC-normalised, trimmed, no control or bidirectional-override characters (``ValueError`` otherwise)."""
    return _displayable(_nfc(value))


Note = safe_text(140, min_length=0)
Name = safe_text(80)
Reason = safe_text(500)
DecisionNote = safe_text(500, min_length=0)
ShortText = safe_text(64)  # typed references a person reads back (credential numbers)
DisplayName = Name


class Money(BaseModel):
    """``{"amount": 1250, "currency": "CNY"}``: an integer number of minor units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: MinorUnits = Field(description="Positive integer amount in minor units (fen).", examples=[1250])
    currency: Currency = Field(description="ISO 4217 code.", examples=["CNY"])


class Balance(BaseModel):
    """A balance may be zero (and negative only for the platform's settlement account)."""

    model_config = ConfigDict(frozen=True)

    amount: int
    currency: Currency


class ClientContext(BaseModel):
    """Who and where a request comes from, beyond the caller: the session (``X-Session-Id``), the app's device
    (``X-Device-Id``), the source IP the gateway saw, a verification token (``X-Verification-Token``) and the
    caller's verified phone claim (CONTRACTS.md)."""

    model_config = ConfigDict(frozen=True)

    session_id: str | None = None
    device_id: str | None = None
    source_ip: str | None = None
    verification_token: str | None = None
    caller_phone: str | None = None

    def __repr__(self) -> str:  # the token is a secret
        return f"ClientContext(session_id={self.session_id!r}, device_id={self.device_id!r})"

    __str__ = __repr__
