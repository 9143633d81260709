"""Domain entities of reconciliation: what a check found and the report of one run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Invariant(StrEnum):
    """Every invariant a run checks, in the order a report lists them."""

    BALANCES_SUM_TO_ZERO = "balances_sum_to_zero"  # per currency: Σ of every balance (settlement included) = 0
    HOLDS_EQUAL_PENDING_WITHDRAWALS = "holds_equal_pending_withdrawals"  # holds account = Σ open withdrawals
    CAMPAIGN_POTS_EQUAL_POT_MINUS_PAID = "campaign_pots_equal_pot_minus_paid"  # pot + buckets = pot - paid
    BALANCES_EQUAL_ENTRIES = "balances_equal_entries"  # each account: balance = credits - debits of its entries
    NO_NEGATIVE_CUSTOMER_BALANCE = "no_negative_customer_balance"

    @property
    def metric(self) -> str:
        """The metric published for it (``ReconciliationBalancesSumToZero`` ...): the difference, minor units."""
        return "Reconciliation" + "".join(part.title() for part in self.value.split("_"))


class Finding(BaseModel):
    """One subject (a currency, a campaign, an account) whose actual amount differs from the expected one."""

    model_config = ConfigDict(frozen=True)

    subject: str
    subject_kind: Literal["currency", "campaign", "account"]
    accounts: tuple[str, ...]
    expected: int
    actual: int

    @property
    def difference(self) -> int:
        return self.actual - self.expected


class InvariantResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    invariant: Invariant
    checked: int  # subjects checked (currencies, campaigns, accounts)
    findings: tuple[Finding, ...] = ()  # differences that persisted on the re-check
    unsettled: int = 0  # differences whose amounts kept moving during every re-check (not reported)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def difference(self) -> int:
        """Σ |actual - expected| over the findings, in minor units."""
        return sum(abs(f.difference) for f in self.findings)

    @property
    def accounts(self) -> list[str]:
        return sorted({a for f in self.findings for a in f.accounts})


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    checked_at: datetime
    results: tuple[InvariantResult, ...]

    @property
    def clean(self) -> bool:
        return all(r.ok for r in self.results)

    def result(self, invariant: Invariant) -> InvariantResult:
        return next(r for r in self.results if r.invariant is invariant)
