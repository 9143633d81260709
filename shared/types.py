"""Reusable constrained types shared by request models, entities and items."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

# 2**53 - 1: the largest integer every JSON client (JavaScript included) represents exactly.
MAX_MINOR_UNITS = 9_007_199_254_740_991

UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.@]+$")]
AccountId = Annotated[str, StringConstraints(min_length=4, max_length=64, pattern=r"^[a-z]{2,4}_[A-Za-z0-9_\-]+$")]
TransactionId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.#]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
MinorUnits = Annotated[StrictInt, Field(gt=0, le=MAX_MINOR_UNITS)]
Note = Annotated[str, StringConstraints(max_length=140)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


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
