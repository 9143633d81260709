"""Risk signals on fakes: the projector's exactly-once fold, sign-ins and bounded lists, tags, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.signals.adapters import CidrReputation
from shared.signals.errors import DeviceNotFound, TagNotSet
from shared.signals.models import (
    AccountRef,
    BindingFact,
    BindingState,
    ClientInfo,
    Network,
    SignInAttempt,
    SignInDecision,
    WatchTag,
)
from shared.signals.services import LedgerProjector, PoisonRecord, SignalsService
from shared.signals.settings import SignalsSettings
from tests.signals.fakes import FakeAccounts, FakeMemberships, FakeSignalsStore

T0 = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # 10:30 local (UTC+8), a Friday
SETTINGS = SignalsSettings(signals_table="t", signals_max_devices=3, signals_max_ip_prefixes=2, signals_max_cells=2)
ANDROID = ClientInfo(os="Android 14", app_version="3.2.1")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def accounts() -> FakeAccounts:
    return FakeAccounts([
        AccountRef(account_id="acc_alice", owner="alice", created_at=T0 - timedelta(days=100), is_customer=True),
        AccountRef(account_id="acc_bob", owner="bob", created_at=T0 - timedelta(days=5), is_customer=True),
        AccountRef(account_id="sys_settlement_CNY", owner="platform", created_at=T0, is_customer=False)])


def entry(tx: str, account: str, counterparty: str, direction: str, amount: int, at: datetime,
          type_: str = "P2P_TRANSFER") -> dict[str, Any]:
    return {"pk": f"ACCOUNT#{account}", "sk": f"ENTRY#{at.isoformat()}#{tx}#{direction[0]}", "entity": "ENTRY",
            "account_id": account, "transaction_id": tx, "direction": direction, "amount": amount,
            "currency": "CNY", "counterparty_account_id": counterparty, "type": type_, "created_at": at.isoformat()}


@pytest.fixture
def world() -> tuple[FakeSignalsStore, LedgerProjector, SignalsService, Clock]:
    store, clock = FakeSignalsStore(), Clock(T0 + timedelta(days=1))
    directory = accounts()
    service = SignalsService(store, SETTINGS, CidrReputation(), accounts=directory,
                             memberships=FakeMemberships({"alice": 1}), clock=clock)
    return store, LedgerProjector(store, directory, SETTINGS), service, clock


def test_entries_fold_once_whatever_the_delivery(world: Any) -> None:
    store, projector, service, _ = world
    # Given a deposit and two transfers from alice to bob (each seen from both sides)
    images = [entry("t0", "acc_alice", "sys_settlement_CNY", "CREDIT", 10_000, T0, "DEPOSIT"),
              entry("t0", "sys_settlement_CNY", "acc_alice", "DEBIT", 10_000, T0, "DEPOSIT"),
              entry("t1", "acc_alice", "acc_bob", "DEBIT", 1_250, T0 + timedelta(hours=1)),
              entry("t1", "acc_bob", "acc_alice", "CREDIT", 1_250, T0 + timedelta(hours=1)),
              entry("t2", "acc_alice", "acc_bob", "DEBIT", 750, T0 + timedelta(hours=14))]
    # When they are delivered twice, the second time in reverse order, with a TX item among them
    applied = [projector.project(i) for i in images]
    replayed = [projector.project(i) for i in reversed(images)]
    assert projector.project({"pk": "TX#t1", "sk": "TX", "entity": "TRANSACTION"}) is False
    # Then each customer-side entry counted exactly once; the system account's side was skipped
    assert applied == [True, False, True, True, True] and replayed == [False] * 5
    alice = service.profile("alice")
    assert alice.by_type["P2P_TRANSFER"].count_out == 2 and alice.by_type["P2P_TRANSFER"].amount_out == 2_000
    assert alice.by_type["DEPOSIT"].count_in == 1 and alice.by_type["DEPOSIT"].amount_in == 10_000
    assert alice.counterparties == 1  # bob once; the settlement account is not a contact
    assert alice.spend(30) == 2_000 and alice.spend(90) == 2_000 and alice.spend_count(30) == 2
    assert alice.by_hour[10] == 1 and alice.by_hour[11] == 1 and alice.by_hour[0] == 1  # local hours (UTC+8)
    assert alice.last_active_at == T0 + timedelta(hours=14)
    assert alice.account_created_at == T0 - timedelta(days=100) and alice.group_count == 1
    assert service.profile("bob").by_type["P2P_TRANSFER"].count_in == 1
    assert "platform" not in store.raw


def test_rolling_windows_and_inactivity_are_read_by_time(world: Any) -> None:
    _, projector, service, clock = world
    projector.project(entry("old", "acc_alice", "acc_bob", "DEBIT", 500, T0 - timedelta(days=60)))
    projector.project(entry("new", "acc_alice", "acc_bob", "DEBIT", 300, T0))
    p = service.profile("alice")
    assert (p.spend(30), p.spend(90), p.days_inactive) == (300, 800, 1)
    clock.now = T0 + timedelta(days=45)  # the newer spend leaves the 30-day window, the older one the 90-day
    p = service.profile("alice")
    assert (p.spend(30), p.spend(90), p.days_inactive) == (0, 300, 45)


def test_a_counterparty_counted_concurrently_is_not_counted_twice(world: Any) -> None:
    store, projector, service, _ = world
    store.fail_next_contact = True  # another entry's projection put the contact between our check and write
    assert projector.project(entry("t1", "acc_alice", "acc_bob", "DEBIT", 100, T0)) is True
    assert service.profile("alice").counterparties == 0 and service.profile("alice").by_type["P2P_TRANSFER"].count == 1


@pytest.mark.parametrize("bad", [{"amount": "lots"}, {"amount": -5}, {"direction": "SIDEWAYS"},
                                 {"created_at": "yesterday"}, {"account_id": "acc_nobody"}])
def test_an_unreadable_entry_is_a_poison_record(world: Any, bad: dict[str, Any]) -> None:
    _, projector, _, _ = world
    with pytest.raises(PoisonRecord):
        projector.project({**entry("t9", "acc_alice", "acc_bob", "DEBIT", 100, T0), **bad})


def test_a_sign_in_retried_with_its_key_answers_its_session_and_counts_once(world: Any) -> None:
    """A retry after a crash past the commit (same Idempotency-Key) finds the session it recorded: same id, still a
    new device, one sign-in counted; another key is another sign-in."""
    _, _, service, _ = world
    first = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID, request_key="key-1")
    again = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID, request_key="key-1")
    assert (again.session_id, again.new_device, again.trusted_device) == (first.session_id, True, False)
    assert service.profile("alice").login_count == 1
    other = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID, request_key="key-2")
    assert other.session_id != first.session_id and not other.new_device
    assert service.profile("alice").login_count == 2


def test_sign_ins_record_devices_untrusted_and_keep_lists_bounded(world: Any) -> None:
    _, _, service, clock = world
    first = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID, lat=31.2304, lon=121.4737,
                            source_ip="203.0.113.77")
    assert first.new_device and not first.trusted_device
    again = service.sign_in("alice", "device-0001", Network.CELLULAR, ANDROID, source_ip="198.51.100.9")
    assert not again.new_device
    for i in range(2, 6):  # more devices, places and networks than the limits keep
        clock.now += timedelta(minutes=1)
        service.sign_in("alice", f"device-000{i}", Network.WIFI, ANDROID, lat=20.0 + i, lon=110.0 + i,
                        source_ip=f"10.0.{i}.1")
    p = service.profile("alice")
    assert p.login_count == 6 and p.networks == {Network.WIFI: 5, Network.CELLULAR: 1}
    assert [d.device_id for d in p.devices] == ["device-0005", "device-0004", "device-0003"]  # max 3, newest first
    assert len(p.ip_prefixes) == 2 and p.ip_prefixes[0].prefix == "10.0.5.0/24" and len(p.cells) == 2
    assert p.last_location is not None and p.last_location.cell.startswith(p.cells[0].cell)
    assert p.last_location.lat != 25.0  # the centre of a ~1 km cell, not the reported point
    assert service.accounts_on_device("device-0001", timedelta(hours=1)) == ["alice"]
    assert service.attempts_from_prefix("203.0.113.0/24", timedelta(hours=1)).count == 1


def test_forget_and_trust_devices(world: Any) -> None:
    _, _, service, _ = world
    service.sign_in("alice", "device-0001", Network.WIFI, ANDROID)
    assert service.trust_device("alice", "device-0001").trusted
    assert service.profile("alice").devices[0].trusted
    service.forget_device("alice", "device-0001")
    assert service.profile("alice").devices == ()
    with pytest.raises(DeviceNotFound):
        service.forget_device("alice", "device-0001")
    service.sign_in("bob", "device-0009", Network.WIFI, ANDROID)
    with pytest.raises(DeviceNotFound):  # another user's device is not the caller's
        service.forget_device("alice", "device-0009")
    assert not service.sign_in("alice", "device-0001", Network.WIFI, ANDROID).trusted_device  # new again


def test_a_forgetting_retried_with_its_request_answers_again(world: Any) -> None:
    # Given a device forgotten by a request whose answer was lost in a crash past the commit
    _, _, service, _ = world
    service.sign_in("alice", "device-0001", Network.WIFI, ANDROID)
    service.sign_in("alice", "device-0002", Network.WIFI, ANDROID)
    service.forget_device("alice", "device-0001", "tag-of-the-first-request")
    # When the same request comes again: answered, nothing else changed
    service.forget_device("alice", "device-0001", "tag-of-the-first-request")
    assert [d.device_id for d in service.profile("alice").devices] == ["device-0002"]
    # Another request, one without a key, or the same request naming another device: not found
    for request, device in (("tag-of-another-request", "device-0001"), (None, "device-0001"),
                            ("tag-of-the-first-request", "device-0009")):
        with pytest.raises(DeviceNotFound):
            service.forget_device("alice", device, request)


def test_bindings_are_counted_listed_most_recent_first_and_bounded(world: Any) -> None:
    _, _, service, _ = world
    assert service.profile("alice").bindings.count == 0 and service.profile("alice").bindings.items == ()
    facts = [BindingFact(binding_id=f"bnd_{i:02}", partner_id="ptn_1", bank_name="Bank", card_type="DEBIT",
                         account_id="acc_alice", state=BindingState.ACTIVE, bound_at=T0 + timedelta(hours=i))
             for i in range(SETTINGS.signals_max_bindings + 3)]
    for fact in facts:
        service.record_binding("alice", fact)
    service.record_binding("alice", facts[0].model_copy(update={"state": BindingState.UNBOUND,
                                                               "unbound_at": T0 + timedelta(days=2)}))
    service.record_binding("alice", facts[0])  # a stale write does not bring it back
    b = service.profile("alice").bindings
    assert (b.count, b.ever, b.unbound) == (len(facts) - 1, len(facts), 1)
    assert b.last_bound_at == facts[-1].bound_at and b.last_unbound_at == T0 + timedelta(days=2)
    assert len(b.items) == SETTINGS.signals_max_bindings and b.items[0].binding_id == facts[-1].binding_id
    assert b.first_use_pending is True
    assert service.profile("bob").bindings.ever == 0


def test_tags_are_audited_and_clearing_a_missing_tag_is_refused(world: Any) -> None:
    _, _, service, _ = world
    service.set_tag("ops", "bob", WatchTag.GREY, "chargebacks")
    assert service.profile("bob").tags[WatchTag.GREY].set_by == "ops"
    service.clear_tag("ops2", "bob", WatchTag.GREY, "resolved")
    with pytest.raises(TagNotSet):
        service.clear_tag("ops2", "bob", WatchTag.GREY, "again")
    assert [(a.action, a.by, a.reason) for a in service.tag_history("bob")] == [
        ("CLEARED", "ops2", "resolved"), ("SET", "ops", "chargebacks")]


def test_a_clearing_retried_with_its_request_answers_the_clearing(world: Any) -> None:
    # Given a clearing that committed (its answer lost in a crash)
    _, _, service, _ = world
    service.set_tag("ops", "bob", WatchTag.GREY, "chargebacks")
    first = service.clear_tag("ops2", "bob", WatchTag.GREY, "resolved", "tag-of-the-first-request")
    # When the same request comes again: the same clearing answered, nothing audited twice
    assert service.clear_tag("ops2", "bob", WatchTag.GREY, "resolved", "tag-of-the-first-request") == first
    assert [a.action for a in service.tag_history("bob")] == ["CLEARED", "SET"]
    # Another request (or one without a key) finds no tag
    with pytest.raises(TagNotSet):
        service.clear_tag("ops2", "bob", WatchTag.GREY, "resolved", "tag-of-another-request")
    with pytest.raises(TagNotSet):
        service.clear_tag("ops2", "bob", WatchTag.GREY, "resolved")


def test_windows_are_bounded(world: Any) -> None:
    _, _, service, _ = world
    for window in (timedelta(0), timedelta(days=91)):
        with pytest.raises(InvalidInput):
            service.accounts_on_device("device-0001", window)
    with pytest.raises(InvalidInput):
        service.attempts_from_prefix("203.0.113.7/32", timedelta(hours=1))


def test_ip_reputation_from_the_shipped_cidr_lists(world: Any) -> None:
    _, _, service, _ = world
    assert service.ip_reputation("198.51.100.7").categories == ("PROXY_VPN",)
    assert service.ip_reputation("198.51.100.130").categories == ("TOR",)
    assert service.ip_reputation("203.0.113.5").anonymising
    assert service.ip_reputation("192.0.2.1").known_bad
    assert service.ip_reputation("::ffff:192.0.2.1").known_bad  # IPv4-mapped IPv6 is the IPv4 address
    assert service.ip_reputation("2001:db8:bad::1").known_bad
    clean = service.ip_reputation("8.8.8.8")
    assert clean.categories == () and clean.ip_prefix == "8.8.8.0/24" and clean.list_version
    with pytest.raises(InvalidInput):
        service.ip_reputation("not-an-ip")


class Decider:
    """Adaptive verification's LOGIN decision, as the sessions service sees it (a port)."""

    def __init__(self, store: FakeSignalsStore) -> None:
        self.store = store
        self.asked: list[tuple[str, str, bool]] = []

    def decide_sign_in(self, attempt: SignInAttempt) -> SignInDecision:
        raw = self.store.raw.get(attempt.user_id)
        known = bool(raw and any(d.device_id == attempt.device_id for d in raw.devices))
        self.asked.append((attempt.session_id, attempt.device_id, known))
        return SignInDecision(verification_id=f"ver_{len(self.asked)}", decision="CHALLENGE", strength="WEAK",
                              methods=("SMS_OTP",), reasons=("NEW_DEVICE",) if not known else ("UNTRUSTED_DEVICE",))


def test_a_new_or_untrusted_device_gets_the_login_decision_before_the_sign_in_is_folded_in() -> None:
    store = FakeSignalsStore()
    decider = Decider(store)
    service = SignalsService(store, SETTINGS, CidrReputation(), clock=Clock(T0), decider=decider)
    first = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID, lat=30.57, lon=104.07,
                            source_ip="10.0.5.9")
    assert first.decision is not None and first.decision.reasons == ("NEW_DEVICE",)
    assert decider.asked == [(first.session_id, "device-0001", False)]  # asked before the device was recorded
    second = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID)
    assert second.decision is not None and second.decision.reasons == ("UNTRUSTED_DEVICE",)
    service.trust_device("alice", "device-0001")
    trusted = service.sign_in("alice", "device-0001", Network.WIFI, ANDROID)
    assert trusted.decision is None and trusted.trusted_device and len(decider.asked) == 2
    # without the port (a deployment without §4) a sign-in carries no decision
    assert SignalsService(store, SETTINGS, CidrReputation(), clock=Clock(T0)).sign_in(
        "alice", "device-0002", Network.WIFI, ANDROID).decision is None


def test_verification_outcomes_fold_into_the_profile(world: Any) -> None:
    _, _, service, clock = world
    service.record_verification("alice", passed=False, strong=False)
    service.record_verification("alice", passed=True, strong=False)
    h = service.profile("alice").verification
    assert (h.attempts, h.successes, h.failures, h.last_strong_at) == (2, 1, 1, None)
    assert h.last_passed_at == clock.now
    clock.now += timedelta(minutes=5)
    service.record_verification("alice", passed=True, strong=True)
    h = service.profile("alice").verification
    assert (h.attempts, h.successes) == (3, 2) and h.last_strong_at == h.last_passed_at == clock.now
