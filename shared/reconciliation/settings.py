"""Typed settings of the reconciliation functions (template.yaml's ``ReconciliationEnv`` anchor)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.ledger.settings import LedgerSettings


class ReconciliationSettings(LedgerSettings):
    # Each account's balance against the sum of its entries: every account ("full"), or a random sample of
    # reconciliation_entry_accounts accounts per run ("sample").
    reconciliation_entry_check: Literal["full", "sample"] = "sample"
    reconciliation_entry_accounts: int = Field(default=1000, ge=1, le=1_000_000)
    reconciliation_page_size: int = Field(default=500, ge=1, le=1000)  # accounts per scan request
    # A difference is re-read before it is reported: after this pause (an index catching up, a transfer landing),
    # with the amounts read before and after the comparison; up to this many tries while they keep moving.
    reconciliation_recheck_delay_seconds: float = Field(default=2.0, ge=0, le=60)
    reconciliation_recheck_attempts: int = Field(default=3, ge=1, le=10)
