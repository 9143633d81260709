"""The ledger's invariants, checked on the live tables (issue 9 item 3).

A run reads every account once (a paginated, strongly consistent scan), checks each invariant against that
snapshot, then re-checks every difference before reporting it: balances move between the pages of a scan
under load, and an index (the open withdrawals) may lag its table for a moment. A re-check reads only the
named accounts, consistently, before and after what they are compared with; if they moved in between it tries
again (``reconciliation_recheck_attempts``) and, if they never hold still, counts the difference as
*unsettled* instead of reporting it. The sum of all balances cannot be re-read for a few accounts: it is
re-scanned, and reported only if the same difference persists.

Invariants:

* ``balances_sum_to_zero``: per currency, Σ of every balance is 0 (money enters only by issuance from the
  settlement account, which goes negative by what was issued);
* ``holds_equal_pending_withdrawals``: each holds account holds exactly its currency's open withdrawals;
* ``campaign_pots_equal_pot_minus_paid``: a campaign's pot and payout buckets hold its recorded prize pot minus
  the prizes paid (an account of kind CAMPAIGN that no campaign claims must hold nothing);
* ``balances_equal_entries``: each account's balance is the sum of its entries (every account, or a sample);
* ``no_negative_customer_balance``.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from shared.clock import utcnow
from shared.ledger.models import Account, AccountKind
from shared.observability import logger, metrics
from shared.reconciliation.models import Finding, Invariant, InvariantResult, Report
from shared.reconciliation.ports import CampaignPots, LedgerAudit, PendingHoldsSource
from shared.reconciliation.settings import ReconciliationSettings

T = TypeVar("T")
Snapshot = dict[str, Account]


class _Unsettled:
    """A difference whose accounts kept moving during every re-check: neither confirmed nor cleared."""


UNSETTLED = _Unsettled()
Recheck = Finding | _Unsettled | None


class ReconciliationService:
    def __init__(self, ledger: LedgerAudit, holds: PendingHoldsSource, pots: CampaignPots,
                 campaign_of: Callable[[str], str | None], settings: ReconciliationSettings,
                 clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.ledger = ledger
        self.holds = holds
        self.pots = pots
        self.campaign_of = campaign_of
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()

    # --- the run --------------------------------------------------------------------------------------------
    def run(self) -> Report:
        """Check every invariant, re-check each difference, publish one metric per invariant, return the report."""
        checked_at = self.clock()
        snapshot = self.snapshot()
        first = {
            Invariant.BALANCES_SUM_TO_ZERO: self._sums(snapshot.values()),
            Invariant.HOLDS_EQUAL_PENDING_WITHDRAWALS: self._holds(snapshot),
            Invariant.CAMPAIGN_POTS_EQUAL_POT_MINUS_PAID: self._pots(snapshot),
            Invariant.BALANCES_EQUAL_ENTRIES: self._entries(snapshot),
            Invariant.NO_NEGATIVE_CUSTOMER_BALANCE: self._negatives(snapshot),
        }
        if any(findings for _, findings in first.values()):
            self.sleep(self.settings.reconciliation_recheck_delay_seconds)
        results = [self._recheck(invariant, checked, findings) for invariant, (checked, findings) in first.items()]
        report = Report(checked_at=checked_at, results=tuple(_name_suspects(results)))
        self._publish(report)
        return report

    @staticmethod
    def _log(report: Report) -> None:
        for result in report.results:
            for finding in result.findings:  # account ids and amounts only: no personal data
                logger.warning("reconciliation difference", extra={
                    "invariant": result.invariant.value, "subject": finding.subject,
                    "accounts": list(finding.accounts), "expected": finding.expected, "actual": finding.actual})
            if result.unsettled:
                logger.info("reconciliation: amounts kept moving", extra={
                    "invariant": result.invariant.value, "unsettled": result.unsettled})

    def snapshot(self) -> Snapshot:
        """Every account, read page by page (consistently; pages are read at different moments)."""
        accounts: Snapshot = {}
        cursor: str | None = None
        while True:
            page, cursor = self.ledger.scan_accounts(self.settings.reconciliation_page_size, cursor)
            accounts.update((a.account_id, a) for a in page)
            if cursor is None:
                return accounts

    # --- first pass: each invariant on the snapshot ------------------------------------------------------------
    def _sums(self, accounts: Iterable[Account]) -> tuple[int, list[Finding]]:
        sums: dict[str, int] = defaultdict(int)
        for account in accounts:
            sums[account.currency] += account.balance
        return len(sums), [Finding(subject=ccy, subject_kind="currency", accounts=(), expected=0, actual=total)
                           for ccy, total in sorted(sums.items()) if total != 0]

    def _holds(self, snapshot: Snapshot) -> tuple[int, list[Finding]]:
        expected = {p.account_id: p.amount for p in self.holds.pending_holds()}
        holds_accounts = {a.account_id for a in snapshot.values() if a.kind is AccountKind.HOLDS}
        subjects = sorted(holds_accounts | set(expected))
        return len(subjects), [f for f in (self._holds_finding(a, snapshot, expected) for a in subjects) if f]

    @staticmethod
    def _holds_finding(account_id: str, balances: Snapshot, expected: dict[str, int]) -> Finding | None:
        actual = balances[account_id].balance if account_id in balances else 0
        want = expected.get(account_id, 0)
        return None if actual == want else Finding(subject=account_id, subject_kind="account", accounts=(account_id,),
                                                   expected=want, actual=actual)

    def _pots(self, snapshot: Snapshot) -> tuple[int, list[Finding]]:
        by_campaign: dict[str, list[str]] = defaultdict(list)
        orphans: list[Finding] = []
        for account in snapshot.values():
            if account.kind is not AccountKind.CAMPAIGN:
                continue
            campaign_id = self.campaign_of(account.account_id)
            if campaign_id is None:  # a pot account no campaign can claim
                orphans += [Finding(subject=account.account_id, subject_kind="account",
                                    accounts=(account.account_id,), expected=0, actual=account.balance)
                            ] if account.balance else []
            else:
                by_campaign[campaign_id].append(account.account_id)
        findings = [f for f in (self._pot_finding(cid, snapshot, ids) for cid, ids in sorted(by_campaign.items()))
                    if f]
        return len(by_campaign) + len(orphans), orphans + findings

    def _pot_finding(self, campaign_id: str, balances: Snapshot, found: list[str]) -> Finding | None:
        statement = self.pots.pot_statement(campaign_id)
        account_ids = sorted(set(found) | set(statement.account_ids if statement else ()))
        actual = sum(balances[a].balance for a in account_ids if a in balances)
        expected = statement.expected if statement else 0  # pot accounts of an unrecorded campaign hold nothing
        present = tuple(a for a in account_ids if a in balances)
        return None if actual == expected else Finding(subject=campaign_id, subject_kind="campaign", accounts=present,
                                                       expected=expected, actual=actual)

    def _entries(self, snapshot: Snapshot) -> tuple[int, list[Finding]]:
        ids = sorted(snapshot)
        per_run = self.settings.reconciliation_entry_accounts
        if self.settings.reconciliation_entry_check == "sample" and len(ids) > per_run:
            ids = sorted(self.rng.sample(ids, per_run))
        findings = []
        for account_id in ids:
            total = self.ledger.entries_total(account_id)
            if total != snapshot[account_id].balance:
                findings.append(Finding(subject=account_id, subject_kind="account", accounts=(account_id,),
                                        expected=total, actual=snapshot[account_id].balance))
        return len(ids), findings

    @staticmethod
    def _negatives(snapshot: Snapshot) -> tuple[int, list[Finding]]:
        customers = [a for a in snapshot.values() if a.kind is AccountKind.CUSTOMER]
        return len(customers), [Finding(subject=a.account_id, subject_kind="account", accounts=(a.account_id,),
                                        expected=0, actual=a.balance)
                                for a in sorted(customers, key=lambda a: a.account_id) if a.balance < 0]

    # --- re-check: only what persists is reported ------------------------------------------------------------
    def _recheck(self, invariant: Invariant, checked: int, findings: list[Finding]) -> InvariantResult:
        if invariant is Invariant.BALANCES_SUM_TO_ZERO:
            confirmed, unsettled = self._recheck_sums(findings), 0
        else:
            recheck = {Invariant.HOLDS_EQUAL_PENDING_WITHDRAWALS: self._recheck_holds,
                       Invariant.CAMPAIGN_POTS_EQUAL_POT_MINUS_PAID: self._recheck_pot,
                       Invariant.BALANCES_EQUAL_ENTRIES: self._recheck_entries,
                       Invariant.NO_NEGATIVE_CUSTOMER_BALANCE: self._recheck_negative}[invariant]
            again = [recheck(f) for f in findings]
            confirmed = [f for f in again if isinstance(f, Finding)]
            unsettled = sum(1 for f in again if f is UNSETTLED)
        return InvariantResult(invariant=invariant, checked=checked, findings=tuple(confirmed), unsettled=unsettled)

    def _recheck_sums(self, findings: list[Finding]) -> list[Finding]:
        """The sum cannot be re-read for a few accounts: scan again, report a difference only if it is the same."""
        if not findings:
            return []
        _, again = self._sums(self.snapshot().values())
        now = {f.subject: f for f in again}
        return [now[f.subject] for f in findings if f.subject in now and now[f.subject].actual == f.actual]

    def _recheck_holds(self, finding: Finding) -> Recheck:
        read = self._stable(finding.accounts, self.holds.pending_holds)
        if read is None:
            return UNSETTLED
        balances, pending = read
        return self._holds_finding(finding.subject, balances, {p.account_id: p.amount for p in pending})

    def _recheck_pot(self, finding: Finding) -> Recheck:
        if finding.subject_kind == "account":  # a pot account no campaign claims must hold nothing
            balances = self.ledger.get_accounts(finding.accounts)
            return self._holds_finding(finding.subject, balances, {})
        statement = self.pots.pot_statement(finding.subject)
        ids = set(finding.accounts) | set(statement.account_ids if statement else ())
        read = self._stable(ids, lambda: self.pots.pot_statement(finding.subject))
        if read is None:
            return UNSETTLED
        balances, _ = read
        return self._pot_finding(finding.subject, balances, list(finding.accounts))

    def _recheck_entries(self, finding: Finding) -> Recheck:
        read = self._stable(finding.accounts, lambda: self.ledger.entries_total(finding.subject))
        if read is None:
            return UNSETTLED
        balances, total = read
        actual = balances[finding.subject].balance if finding.subject in balances else 0
        return None if actual == total else finding.model_copy(update={"expected": total, "actual": actual})

    def _recheck_negative(self, finding: Finding) -> Recheck:
        account = self.ledger.get_accounts(finding.accounts).get(finding.subject)
        return finding.model_copy(update={"actual": account.balance}) if account and account.balance < 0 else None

    def _stable(self, account_ids: Iterable[str], read: Callable[[], T]) -> tuple[Snapshot, T] | None:
        """The accounts and ``read()`` as they stand together: the accounts read consistently before and after
        ``read()`` and equal both times; ``None`` if they kept moving for every attempt."""
        ids = sorted(set(account_ids))
        for attempt in _attempts(self.settings.reconciliation_recheck_attempts):
            before = self.ledger.get_accounts(ids)
            value = read()
            after = self.ledger.get_accounts(ids)
            if _balances(before) == _balances(after):
                return after, value
            self.sleep(min(1.0, self.settings.reconciliation_recheck_delay_seconds) * attempt)
        return None

    # --- metrics ---------------------------------------------------------------------------------------------
    @staticmethod
    def _publish(report: Report) -> None:
        """The differences logged, one metric per invariant (its difference in minor units; alarmed on in
        template.yaml) and a heartbeat."""
        ReconciliationService._log(report)
        for result in report.results:
            metrics.add_metric(name=result.invariant.metric, unit="None", value=result.difference)
        metrics.add_metric(name="ReconciliationRuns", unit="Count", value=1)


def _balances(accounts: Snapshot) -> dict[str, int]:
    return {a: account.balance for a, account in accounts.items()}


def _attempts(n: int) -> Iterator[int]:
    return iter(range(1, n + 1))


def _name_suspects(results: list[InvariantResult]) -> Iterator[InvariantResult]:
    """A sum that does not balance names the accounts whose balance disagrees with their entries (same run)."""
    suspects = {a for r in results if r.invariant is Invariant.BALANCES_EQUAL_ENTRIES for f in r.findings
                for a in f.accounts}
    for result in results:
        if result.invariant is Invariant.BALANCES_SUM_TO_ZERO and result.findings and suspects:
            named = tuple(f.model_copy(update={"accounts": tuple(sorted(suspects))}) for f in result.findings)
            yield result.model_copy(update={"findings": named})
        else:
            yield result
