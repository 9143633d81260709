"""Typed settings of the functions that read or move money (environment from template.yaml's Globals)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseSettings


class LedgerSettings(BaseSettings):
    """What any function that reads or moves money needs; capabilities that move money extend it."""

    accounts_table: str = Field(min_length=1)
    ledger_table: str = Field(min_length=1)
    default_currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    supported_currencies: str = Field(default="CNY", pattern=r"^[A-Z]{3}(,[A-Z]{3})*$")
    max_transfer_amount: int = Field(default=100_000_000, gt=0)  # 1,000,000.00 in minor units

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.supported_currencies.split(","))

    @property
    def ledger(self) -> LedgerSettings:
        """Just the ledger's part (capability settings extend this class), so they share one ledger service."""
        return LedgerSettings.model_validate({k: getattr(self, k) for k in LedgerSettings.model_fields})
