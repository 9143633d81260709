"""Typed, validated settings for each function.

Every function declares the environment it needs as a pydantic model and loads
it once at import time (cold start), so a misconfigured function fails at
start, with a clear message, instead of on the first request.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

TSettings = TypeVar("TSettings", bound="BaseSettings")


class BaseSettings(BaseModel):
    """Settings read from environment variables; field names are the upper-cased names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls: type[TSettings], environ: dict[str, str] | None = None) -> TSettings:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)


class LedgerSettings(BaseSettings):
    """What any function that reads or moves money needs."""

    accounts_table: str = Field(min_length=1)
    ledger_table: str = Field(min_length=1)
    default_currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    supported_currencies: str = Field(default="CNY", pattern=r"^[A-Z]{3}(,[A-Z]{3})*$")
    max_transfer_amount: int = Field(default=100_000_000, gt=0)  # 1,000,000.00 in minor units

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.supported_currencies.split(","))


class IdempotencySettings(BaseSettings):
    idempotency_table: str = Field(min_length=1)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)


@cache
def load[S: BaseSettings](settings_type: type[S]) -> S:
    """Load and cache a settings model for this container."""
    return settings_type.from_env()
