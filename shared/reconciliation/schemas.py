"""HTTP response model of reconciliation (``GET /admin/reconciliation``), mapped explicitly from the report."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.reconciliation.models import Finding, InvariantResult, Report


class DifferenceResponse(BaseModel):
    subject: str = Field(description="The currency, campaign or account the amounts are of.")
    expected: int = Field(description="What it should be, minor units.")
    actual: int = Field(description="What it is, minor units.")
    accounts: list[str]

    @classmethod
    def of(cls, f: Finding) -> DifferenceResponse:
        return cls(subject=f.subject, expected=f.expected, actual=f.actual, accounts=list(f.accounts))


class InvariantResponse(BaseModel):
    name: str = Field(examples=["balances_sum_to_zero"])
    ok: bool
    difference: int = Field(description="Σ |actual - expected| of the differences that persisted on a re-check, "
                                        "minor units (0 when ok).")
    accounts: list[str] = Field(description="The accounts the differences are in (for the sum: the accounts whose "
                                            "balance disagrees with their entries, when any).")
    checked: int = Field(description="Subjects checked: currencies, holds accounts, campaigns or accounts.")
    unsettled: int = Field(description="Differences whose accounts kept moving on every re-check (not reported; "
                                       "the next run looks again).")
    differences: list[DifferenceResponse]

    @classmethod
    def of(cls, r: InvariantResult) -> InvariantResponse:
        return cls(name=r.invariant.value, ok=r.ok, difference=r.difference, accounts=r.accounts, checked=r.checked,
                   unsettled=r.unsettled, differences=[DifferenceResponse.of(f) for f in r.findings])


class ReconciliationResponse(BaseModel):
    checked_at: datetime
    clean: bool = Field(description="True when every invariant holds.")
    invariants: list[InvariantResponse]

    @classmethod
    def of(cls, report: Report) -> ReconciliationResponse:
        return cls(checked_at=report.checked_at, clean=report.clean,
                   invariants=[InvariantResponse.of(r) for r in report.results])
