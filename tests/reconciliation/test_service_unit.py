"""Reconciliation on in-memory fakes (issue 9 item 3): clean after real activity, every invariant's break named,
a difference that moves away before its re-check not reported, one that never holds still counted as unsettled."""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from datetime import timedelta

import pytest

from shared.campaigns.models import KindWeight, Limits
from shared.campaigns.services import DrawService, campaign_id_for_account
from shared.ledger.models import Account, AccountKind, Direction, Entry
from shared.ledger.service import settlement_account_id
from shared.proxy.models import OrderType
from shared.proxy.services import HoldsService, holds_account_id
from shared.reconciliation.models import Invariant, Report
from shared.reconciliation.service import ReconciliationService
from shared.reconciliation.settings import ReconciliationSettings
from shared.types import Money
from tests.campaigns.fakes import CampaignServices, InMemoryCampaignStore, group_service
from tests.proxy.test_service_unit import World, cny

KINDS = [KindWeight(kind="FU", weight=1), KindWeight(kind="LU", weight=1)]


class Platform(World):
    """Proxy's world (ledger, proxy services on fakes) plus campaigns and the reconciliation over all of it."""

    def __init__(self, **settings: object) -> None:
        super().__init__()
        self.campaign_store = InMemoryCampaignStore()
        self.groups = group_service(clock=self.clock)
        self.campaigns = CampaignServices(self.campaign_store, self.ledger, self.groups,
                                          clock=self.clock, rng=random.Random(3), sleep=lambda _: None,
                                          pool_shards=2, holder_buckets=2)
        self.draws = DrawService(self.campaign_store, self.ledger, self.groups, clock=self.clock)
        self.holds = HoldsService(self.orders.deps)
        self.audit = self.ledger_store
        self.recon_settings = ReconciliationSettings.model_validate(
            {"accounts_table": "a", "ledger_table": "l", "reconciliation_entry_check": "full", **settings})
        self.sleeps: list[float] = []

    def reconcile(self) -> Report:
        service = ReconciliationService(self.audit, self.holds, self.campaigns.campaigns, campaign_id_for_account,
                                        self.recon_settings, clock=self.clock, sleep=self.sleeps.append,
                                        rng=random.Random(5))
        return service.run()

    def activity(self) -> str:
        """Transfers, deposits, proxy orders in every state, a campaign funded and drawn. Returns the campaign id."""
        alice, bob, carol = self.account("alice", 50_000), self.account("bob", 10_000), self.account("carol")
        self.ledger.transfer("t1", alice, bob, cny(1_234), "P2P_TRANSFER")
        agent = self.agent("shop", 40_000)
        _, top_up = self.orders.create("alice", OrderType.TOP_UP, cny(2_000), True)
        self.execution.execute("shop", top_up, agent)
        _, cash_out = self.orders.create("alice", OrderType.WITHDRAW, cny(3_000), True)
        self.execution.execute("carol", cash_out, carol)  # a friend's withdrawal
        cancelled, _ = self.orders.create("bob", OrderType.WITHDRAW, cny(500), True)
        self.orders.cancel("bob", cancelled.order_id)
        self.orders.create("bob", OrderType.WITHDRAW, cny(700), True)  # still pending: held
        campaign = self.campaigns.create("admin", "k1", "New Year", KINDS, Money(amount=10_001, currency="CNY"),
                                         self.clock() + timedelta(days=1), ["SCAN"], Limits(claims_per_day=100))
        cid = campaign.campaign_id
        for user in ("alice", "bob"):
            for n in range(12):
                self.campaigns.record_interaction(cid, user, "SCAN", f"{user}-{n}")
                self.campaigns.claim(cid, user)
        self.draws.freeze(cid)
        for bucket in range(campaign.holder_buckets):
            self.draws.consume(cid, bucket)
        self.draws.tally(cid)
        for bucket in range(campaign.holder_buckets):
            self.draws.pay(cid, bucket)
        self.draws.settle(cid)
        return cid

    def set_balance(self, account_id: str, balance: int) -> None:
        """A write outside the ledger (what reconciliation exists to catch)."""
        self.ledger_store.accounts[account_id] = self.ledger_store.accounts[account_id].model_copy(
            update={"balance": balance})


def _broken(report: Report) -> dict[str, tuple[int, list[str]]]:
    return {r.invariant.value: (r.difference, r.accounts) for r in report.results if not r.ok}


def test_clean_after_transfers_proxy_orders_campaign_funding_and_a_draw() -> None:
    p = Platform()
    cid = p.activity()
    paid = p.campaign_store.paid
    assert sum(v for (c, _), v in paid.items() if c == cid) > 0  # the draw paid prizes
    assert p.balance(holds_account_id("CNY")) == 700
    report = p.reconcile()
    assert report.clean, _broken(report)
    assert [r.invariant for r in report.results] == list(Invariant)
    checked = {r.invariant: r.checked for r in report.results}
    assert checked[Invariant.BALANCES_EQUAL_ENTRIES] == len(p.ledger_store.accounts)
    assert checked[Invariant.CAMPAIGN_POTS_EQUAL_POT_MINUS_PAID] == 1 and checked[Invariant.BALANCES_SUM_TO_ZERO] == 1
    assert p.sleeps == []  # nothing to re-check: no pause


def test_a_bad_balance_is_reported_with_the_account_named() -> None:
    p = Platform()
    p.activity()
    bob = p.ledger_store.find_account_by_owner("bob")
    assert bob is not None
    p.set_balance(bob.account_id, bob.balance + 100)
    broken = _broken(p.reconcile())
    assert broken == {"balances_sum_to_zero": (100, [bob.account_id]),
                      "balances_equal_entries": (100, [bob.account_id])}


def test_an_orphan_entry_is_reported_with_the_account_named() -> None:
    p = Platform()
    p.activity()
    alice = p.ledger_store.find_account_by_owner("alice")
    assert alice is not None
    stray = Entry(account_id=alice.account_id, transaction_id="tx-orphan", direction=Direction.CREDIT,
                  amount=cny(55), counterparty_account_id="acc_nobody", type="P2P_TRANSFER", created_at=p.clock())
    p.ledger_store.entries[alice.account_id].append(("ENTRY#orphan", stray))
    report = p.reconcile()
    assert _broken(report) == {"balances_equal_entries": (55, [alice.account_id])}
    [finding] = report.result(Invariant.BALANCES_EQUAL_ENTRIES).findings
    assert (finding.expected, finding.actual) == (alice.balance + 55, alice.balance)


def test_money_paid_into_the_holds_account_outside_an_order_is_reported() -> None:
    p = Platform()
    p.activity()
    p.ledger.transfer("stray-hold", settlement_account_id("CNY"), holds_account_id("CNY"), cny(40), "DEPOSIT")
    assert _broken(p.reconcile()) == {"holds_equal_pending_withdrawals": (40, [holds_account_id("CNY")])}


def test_money_paid_into_a_pot_outside_its_funding_is_reported() -> None:
    p = Platform()
    cid = p.activity()
    pot = p.campaigns.campaign(cid).account_id
    p.ledger.transfer("stray-pot", settlement_account_id("CNY"), pot, cny(9), "DEPOSIT")
    report = p.reconcile()
    assert set(_broken(report)) == {"campaign_pots_equal_pot_minus_paid"}
    [finding] = report.result(Invariant.CAMPAIGN_POTS_EQUAL_POT_MINUS_PAID).findings
    assert (finding.subject, finding.difference) == (cid, 9) and pot in finding.accounts
    assert all(campaign_id_for_account(a) == cid for a in finding.accounts)


def test_a_pot_account_that_no_campaign_claims_must_hold_nothing() -> None:
    p = Platform()
    p.activity()
    orphan = "cpa_" + "f" * 32
    p.ledger.ensure_system_account(orphan, AccountKind.CAMPAIGN, "CNY")
    assert p.reconcile().clean  # empty: nothing to say
    p.ledger.transfer("fund-orphan", settlement_account_id("CNY"), orphan, cny(77), "DEPOSIT")
    assert _broken(p.reconcile()) == {"campaign_pots_equal_pot_minus_paid": (77, [orphan])}


def test_a_negative_customer_balance_is_reported() -> None:
    p = Platform()
    p.activity()
    carol = p.ledger_store.find_account_by_owner("carol")
    assert carol is not None
    p.ledger.transfer("overdraw", carol.account_id, settlement_account_id("CNY"), cny(carol.balance), "WITHDRAWAL")
    p.ledger_store.accounts[carol.account_id] = p.ledger_store.accounts[carol.account_id].model_copy(
        update={"allow_negative": True})
    p.ledger.transfer("overdraw-2", carol.account_id, settlement_account_id("CNY"), cny(30), "WITHDRAWAL")
    assert _broken(p.reconcile()) == {"no_negative_customer_balance": (30, [carol.account_id])}


class MovingLedger:
    """The ledger as a scan under load sees it: between two pages a transfer lands (its debit side was read on
    the first page, its credit side on the second)."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.scans = 0

    def scan_accounts(self, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
        page, nxt = self.p.ledger_store.scan_accounts(limit, cursor)
        if cursor is None:
            self.scans += 1
            if self.scans == 1:  # during the first scan only
                first, last = page[0].account_id, sorted(self.p.ledger_store.accounts)[-1]
                self.p.ledger.transfer("in-flight", first, last, cny(25), "P2P_TRANSFER")
        return page, nxt

    def get_accounts(self, account_ids: Collection[str]) -> dict[str, Account]:
        return self.p.ledger_store.get_accounts(account_ids)

    def entries_total(self, account_id: str) -> int:
        return self.p.ledger_store.entries_total(account_id)


def test_a_difference_that_is_gone_on_the_re_check_is_not_reported() -> None:
    p = Platform(reconciliation_page_size=2)
    p.activity()
    first_id = sorted(p.ledger_store.accounts)[0]
    p.ledger.issue("float", first_id, cny(100), by="test")  # so the in-flight transfer can be paid
    moving = MovingLedger(p)
    p.audit = moving  # type: ignore[assignment]
    report = p.reconcile()
    assert moving.scans == 2  # the sum was off on the first scan and scanned again
    assert p.sleeps == [p.recon_settings.reconciliation_recheck_delay_seconds]  # there was something to re-check
    assert report.clean, _broken(report)


class JitteryLedger(MovingLedger):
    """An account whose balance changes on every read: no re-check can compare it with its entries."""

    def __init__(self, platform: Platform, account_id: str) -> None:
        super().__init__(platform)
        self.account_id, self.reads = account_id, 0

    def scan_accounts(self, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
        return self.p.ledger_store.scan_accounts(limit, cursor)

    def get_accounts(self, account_ids: Collection[str]) -> dict[str, Account]:
        out = self.p.ledger_store.get_accounts(account_ids)
        if self.account_id in out:
            self.reads += 1
            out[self.account_id] = out[self.account_id].model_copy(update={"balance": self.reads})
        return out


def test_a_difference_that_never_holds_still_is_unsettled_not_reported() -> None:
    p = Platform(reconciliation_recheck_attempts=2)
    p.activity()
    bob = p.ledger_store.find_account_by_owner("bob")
    assert bob is not None
    p.set_balance(bob.account_id, bob.balance + 1)  # differs from its entries in the snapshot
    p.audit = JitteryLedger(p, bob.account_id)  # type: ignore[assignment]
    result = p.reconcile().result(Invariant.BALANCES_EQUAL_ENTRIES)
    assert (result.ok, result.unsettled) == (True, 1)


def test_sampled_entry_checks_read_only_the_sample() -> None:
    p = Platform(reconciliation_entry_check="sample", reconciliation_entry_accounts=3)
    p.activity()
    assert p.reconcile().result(Invariant.BALANCES_EQUAL_ENTRIES).checked == 3


def test_metrics_one_per_invariant_and_the_log_names_the_accounts(capsys: pytest.CaptureFixture[str],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from shared.observability import metrics

    p = Platform()
    p.activity()
    bob = p.ledger_store.find_account_by_owner("bob")
    assert bob is not None
    p.set_balance(bob.account_id, bob.balance + 100)
    metrics.clear_metrics()
    capsys.readouterr()
    p.reconcile()
    metrics.flush_metrics()
    out = capsys.readouterr().out
    for invariant in Invariant:
        assert invariant.metric in out
    blob = json.loads(next(line for line in out.splitlines() if "ReconciliationBalancesEqualEntries" in line))
    assert blob["ReconciliationBalancesEqualEntries"] in (100, [100.0], 100.0)
    assert blob["ReconciliationHoldsEqualPendingWithdrawals"] in (0, [0.0], 0.0)
    warning = next(r for r in caplog.records if getattr(r, "invariant", None) == "balances_sum_to_zero")
    assert (warning.accounts, warning.actual) == ([bob.account_id], 100)  # type: ignore[attr-defined]
