"""Unit tests of the campaign rules on in-memory fakes (Given / When / Then)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.campaigns.errors import (
    CampaignClosed,
    ClaimsPerDayExceeded,
    HeldPerKindExceeded,
    InvalidDrawTime,
    KeyUserAlreadyClaimed,
    NoInteraction,
    NotKeyUser,
    PassesPerDayExceeded,
    UnknownInteractionType,
    VoucherNotFound,
    VoucherNotTransferable,
)
from shared.campaigns.models import KindWeight, Limits, UserState, VoucherSource
from shared.ledger.service import LedgerService
from shared.ledger.settings import LedgerSettings
from shared.types import Money
from tests.campaigns.fakes import CampaignServices, InMemoryCampaignStore, group_service
from tests.fakes.ledger import InMemoryLedgerStore

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
KINDS = [KindWeight(kind="FU", weight=10), KindWeight(kind="LU", weight=5), KindWeight(kind="SHOU", weight=1)]


class Env:
    def __init__(self, limits: Limits | None = None) -> None:
        self.now = NOW
        self.store = InMemoryCampaignStore()
        self.ledger_store = InMemoryLedgerStore()
        self.ledger = LedgerService(self.ledger_store, LedgerSettings(accounts_table="a", ledger_table="l"),
                                    clock=lambda: self.now, sleep=lambda _: None)
        self.groups = group_service(clock=lambda: self.now)
        self.service = CampaignServices(self.store, self.ledger, self.groups, clock=lambda: self.now,
                                        rng=random.Random(7), sleep=lambda _: None, pool_shards=4, holder_buckets=4)
        self.campaign = self.service.create("admin", "k1", "New Year", KINDS, Money(amount=100_000, currency="CNY"),
                                            NOW + timedelta(days=10), ["SCAN", "PAY"], limits or Limits())
        self.cid = self.campaign.campaign_id
        self.n = 0

    def interact(self, user: str) -> bool:
        self.n += 1
        return self.service.record_interaction(self.cid, user, "SCAN", f"i-{self.n}")

    def claim(self, user: str):  # type: ignore[no-untyped-def]
        self.interact(user)
        return self.service.claim(self.cid, user)

    def group(self, owner: str, *members: str, campaign_id: str | None = None) -> str:
        """A group created by ``owner`` for the campaign (this one by default), joined by ``members``."""
        group = self.service.create_group(campaign_id or self.cid, owner, f"family of {owner}")
        for member in members:
            self.groups.join(self.groups.invite(group.group_id, owner).code, member)
        return group.group_id


def test_create_funds_the_pot_once_per_key() -> None:
    env = Env()
    again = env.service.create("admin", "k1", "New Year", KINDS, Money(amount=100_000, currency="CNY"),
                               NOW + timedelta(days=10), ["SCAN"], Limits())
    assert again.campaign_id == env.cid
    assert env.ledger_store.get_account(env.campaign.account_id).balance == 100_000  # type: ignore[union-attr]


def test_draw_time_must_be_in_the_future() -> None:
    env = Env()
    with pytest.raises(InvalidDrawTime):
        env.service.create("admin", "k2", "x", KINDS, Money(amount=1, currency="CNY"), NOW - timedelta(hours=1),
                           ["SCAN"], Limits())


def test_interaction_grants_one_claim_and_a_replay_grants_nothing() -> None:
    env = Env()
    assert env.service.record_interaction(env.cid, "alice", "SCAN", "i-1") is True
    assert env.service.record_interaction(env.cid, "alice", "SCAN", "i-1") is False
    env.service.claim(env.cid, "alice")
    with pytest.raises(NoInteraction):
        env.service.claim(env.cid, "alice")


def test_unknown_interaction_type_is_refused() -> None:
    env = Env()
    with pytest.raises(UnknownInteractionType):
        env.service.record_interaction(env.cid, "alice", "DANCE", "i-1")


def test_claim_without_interaction_is_no_interaction() -> None:
    env = Env()
    with pytest.raises(NoInteraction) as err:
        env.service.claim(env.cid, "bob")
    assert err.value.code == "NO_INTERACTION"


def test_the_same_claim_request_again_returns_its_voucher_and_uses_no_second_right() -> None:
    env = Env()
    env.interact("alice")
    env.interact("alice")
    first = env.service.claim(env.cid, "alice", "key-1")
    events = len(env.store.events())
    again = env.service.claim(env.cid, "alice", "key-1")  # a retry whose first answer was lost
    assert again.voucher_id == first.voucher_id
    state = env.store.states[(env.cid, "alice")]
    assert (state.rights_used, state.rights_granted) == (1, 2)
    assert len(env.store.events()) == events  # no event written twice
    other = env.service.claim(env.cid, "alice", "key-2")  # another request: another right, another voucher
    assert other.voucher_id != first.voucher_id
    assert env.store.states[(env.cid, "alice")].rights_used == 2
    with pytest.raises(NoInteraction):
        env.service.claim(env.cid, "alice", "key-3")


def test_claim_takes_from_the_pool_first_and_prefers_a_lacking_kind() -> None:
    env = Env()
    # Given Alice holds FU and LU (issued), and Bob holds vouchers he passes on: one FU, one SHOU
    while {v.kind for v in env.service.my_vouchers(env.cid, "alice")} != {"FU", "LU"}:
        mine = env.service.my_vouchers(env.cid, "alice")
        if len(mine) > 20:
            pytest.fail("weights never gave FU and LU")
        v = env.claim("alice")
        if v.kind == "SHOU":  # keep Alice without SHOU
            env.store.holdings[(env.cid, "alice")].pop(v.voucher_id)
            env.store.states[(env.cid, "alice")] = env.store.states[(env.cid, "alice")].model_copy(
                update={"held": {**env.store.states[(env.cid, "alice")].held, "SHOU": 0}})
    bob_kinds: dict[str, str] = {}
    while not {"FU", "SHOU"} <= set(bob_kinds):
        v = env.claim("bob")
        bob_kinds.setdefault(v.kind, v.voucher_id)
    env.now += timedelta(seconds=1)
    env.service.pass_on(env.cid, "bob", bob_kinds["FU"])
    env.now += timedelta(seconds=1)
    env.service.pass_on(env.cid, "bob", bob_kinds["SHOU"])

    # When Alice claims
    got = env.claim("alice")

    # Then she gets the pooled SHOU (the kind she lacks), not the older FU, with Bob as donor
    assert (got.kind, got.source, got.donor, got.voucher_id) == ("SHOU", VoucherSource.POOL, "bob", bob_kinds["SHOU"])
    # and the next claimer gets the remaining pooled voucher before anything new is issued
    assert env.claim("carol").voucher_id == bob_kinds["FU"]
    assert env.claim("carol").source is VoucherSource.ISSUER
    assert [a["action"] for a in env.store.voucher_history(env.cid, bob_kinds["FU"])][-2:] == ["PASSED", "FROM_POOL"]


def test_pass_of_foreign_or_unknown_voucher_is_not_found() -> None:
    env = Env()
    v = env.claim("alice")
    with pytest.raises(VoucherNotFound):
        env.service.pass_on(env.cid, "mallory", v.voucher_id)
    with pytest.raises(VoucherNotFound):
        env.service.pass_on(env.cid, "alice", "v_nope")
    env.service.pass_on(env.cid, "alice", v.voucher_id)
    with pytest.raises(VoucherNotFound):  # no longer hers
        env.service.pass_on(env.cid, "alice", v.voucher_id)


def test_daily_limits_hold_and_reset_next_day() -> None:
    env = Env(Limits(claims_per_day=2, passes_per_day=1))
    a = env.claim("alice")
    b = env.claim("alice")
    env.interact("alice")
    with pytest.raises(ClaimsPerDayExceeded) as err:
        env.service.claim(env.cid, "alice")
    assert err.value.details["limit"] == "claims_per_day"
    env.service.pass_on(env.cid, "alice", a.voucher_id)
    with pytest.raises(PassesPerDayExceeded):
        env.service.pass_on(env.cid, "alice", b.voucher_id)
    env.now += timedelta(days=1)
    env.service.claim(env.cid, "alice")  # the unused right works the next day
    env.service.pass_on(env.cid, "alice", b.voucher_id)


def test_held_per_kind_cap() -> None:
    env = Env(Limits(claims_per_day=50, held_per_kind=1))
    kinds = [env.claim("alice").kind for _ in range(3)]
    assert sorted(kinds) == ["FU", "LU", "SHOU"]
    with pytest.raises(HeldPerKindExceeded):
        env.claim("alice")


def test_key_user_claims_once_per_campaign() -> None:
    env = Env()
    with pytest.raises(NotKeyUser):
        env.service.key_user_claim(env.cid, "alice")
    gid = env.group("alice", "bob")
    v = env.service.key_user_claim(env.cid, "alice")
    assert (v.source, v.group_id) == (VoucherSource.KEY_USER, gid)
    with pytest.raises(KeyUserAlreadyClaimed):
        env.service.key_user_claim(env.cid, "alice")
    with pytest.raises(VoucherNotTransferable):
        env.service.pass_on(env.cid, "alice", v.voucher_id)


def test_frozen_campaign_refuses_every_move() -> None:
    env = Env()
    v = env.claim("alice")
    env.interact("alice")
    env.store.freeze_shards(env.campaign)
    with pytest.raises(CampaignClosed):
        env.service.claim(env.cid, "alice")
    with pytest.raises(CampaignClosed):
        env.service.pass_on(env.cid, "alice", v.voucher_id)


def test_events_are_emitted_for_each_state_change() -> None:
    env = Env()
    v = env.claim("alice")
    env.service.pass_on(env.cid, "alice", v.voucher_id)
    assert [t for t, _ in env.store.events()] == ["CampaignCreated", "InteractionRecorded", "VoucherClaimed",
                                                 "VoucherPassed"]


def test_draw_splits_the_pot_by_integer_division_and_reruns_pay_nothing_more() -> None:
    from shared.campaigns.services import DrawService

    env = Env(Limits(claims_per_day=500))
    env.group("alice", "bob", "carol")
    env.service.key_user_claim(env.cid, "alice")
    env.now += timedelta(seconds=1)  # the key-user voucher is Alice's oldest
    for user in ("alice", "dave"):
        while min(env.store.states.get((env.cid, user), UserState(user_id=user)).held.get(k.kind, 0)
                  for k in KINDS) < 1:
            env.claim(user)
    draw = DrawService(env.store, env.ledger, env.groups, clock=lambda: env.now)

    def run() -> None:
        draw.freeze(env.cid)
        for b in range(env.campaign.holder_buckets):
            draw.snapshot_groups(env.cid, b)
        for b in range(env.campaign.holder_buckets):
            draw.consume(env.cid, b)
        draw.tally(env.cid)
        for b in range(env.campaign.holder_buckets):
            draw.pay(env.cid, b)
        draw.settle(env.cid)

    run()
    tally = env.store.get_tally(env.cid)
    assert tally is not None and tally.total_sets == 2 and tally.share == 100_000 // 2
    balances = {u: (a.balance if (a := env.ledger_store.find_account_by_owner(u)) else 0)
                for u in ("alice", "bob", "carol", "dave")}
    # Alice's set holds the key-user voucher (her oldest): split three ways at the snapshot
    assert balances == {"alice": 50_000 // 3, "bob": 50_000 // 3, "carol": 50_000 // 3, "dave": 50_000}
    pot = env.ledger_store.get_account(env.campaign.account_id)
    assert pot is not None and sum(balances.values()) + pot.balance == 100_000
    run()  # a second run pays nothing more
    assert {u: env.ledger_store.find_account_by_owner(u).balance for u in balances} == balances  # type: ignore[union-attr]
    # and writes no event twice: one per change, however often the steps ran
    draw_events = [t for t, _ in env.store.events() if t in ("CampaignFrozen", "DrawTallied", "PrizePaid",
                                                              "CampaignSettled")]
    assert sorted(draw_events) == sorted(["CampaignFrozen", "DrawTallied", *["PrizePaid"] * 4, "CampaignSettled"])


def _complete_set(env: Env, user: str) -> None:
    while min(env.store.states.get((env.cid, user), UserState(user_id=user)).held.get(k.kind, 0) for k in KINDS) < 1:
        env.claim(user)


def test_the_prize_goes_to_the_members_at_the_freeze_not_to_later_ones() -> None:
    from shared.campaigns.services import DrawService
    from shared.groups.errors import GroupLockedForDraw
    from shared.groups.models import Role

    # Given Alice's group (Bob a member) holds the shared voucher, which is in Alice's one set
    env = Env(Limits(claims_per_day=500))
    gid = env.group("alice", "bob")
    env.service.key_user_claim(env.cid, "alice")
    env.now += timedelta(seconds=1)
    _complete_set(env, "alice")
    draw = DrawService(env.store, env.ledger, env.groups, clock=lambda: env.now)
    code = env.groups.invite(gid, "alice").code

    # When the draw freezes and snapshots the groups
    draw.freeze(env.cid)
    for b in range(env.campaign.holder_buckets):
        draw.snapshot_groups(env.cid, b)

    # Then joining and leaving are refused until settlement
    with pytest.raises(GroupLockedForDraw):
        env.groups.join(code, "carol")
    with pytest.raises(GroupLockedForDraw):
        env.groups.leave(gid, "bob")
    # and even a member who got in after the freeze (straight into the store, past the lock) is not paid:
    # the sets are consumed and paid after the snapshot, which does not see them
    store = env.groups.store
    store.memberships[("mallory", env.cid)] = (gid, Role.MEMBER)  # type: ignore[attr-defined]
    store.member_rows[gid]["mallory"] = env.now  # type: ignore[attr-defined]
    assert "mallory" in env.groups.members(gid)
    for b in range(env.campaign.holder_buckets):
        draw.consume(env.cid, b)
    draw.tally(env.cid)
    for b in range(env.campaign.holder_buckets):
        draw.pay(env.cid, b)
    draw.settle(env.cid)
    share = env.store.get_tally(env.cid).share  # type: ignore[union-attr]
    paid = {u: (a.balance if (a := env.ledger_store.find_account_by_owner(u)) else 0)
            for u in ("alice", "bob", "carol", "mallory")}
    assert paid == {"alice": share // 2, "bob": share // 2, "carol": 0, "mallory": 0}
    # After settlement members come and go again
    env.groups.join(code, "carol")
    env.groups.leave(gid, "bob")


def test_a_winning_group_without_its_snapshot_is_not_paid_to_anyone() -> None:
    from shared.campaigns.errors import DrawNotReady
    from shared.campaigns.services import DrawService

    env = Env(Limits(claims_per_day=500))
    env.group("alice", "bob")
    env.service.key_user_claim(env.cid, "alice")
    env.now += timedelta(seconds=1)
    _complete_set(env, "alice")
    draw = DrawService(env.store, env.ledger, env.groups, clock=lambda: env.now)
    draw.freeze(env.cid)  # the snapshot step is skipped
    for b in range(env.campaign.holder_buckets):
        draw.consume(env.cid, b)
    draw.tally(env.cid)
    with pytest.raises(DrawNotReady):
        for b in range(env.campaign.holder_buckets):
            draw.pay(env.cid, b)
    assert env.ledger_store.find_account_by_owner("alice") is None


def test_a_group_for_another_campaign_makes_nobody_a_key_user_here() -> None:
    env = Env()
    other = env.service.create("admin", "k-other", "Other", KINDS, Money(amount=1_000, currency="CNY"),
                               NOW + timedelta(days=10), ["SCAN"], Limits()).campaign_id
    env.group("alice", campaign_id=other)
    with pytest.raises(NotKeyUser):
        env.service.key_user_claim(env.cid, "alice")
    assert env.service.key_user_claim(other, "alice").source is VoucherSource.KEY_USER
    env.store.set_status(env.campaign, "DRAWING", ["OPEN"])
    with pytest.raises(CampaignClosed):  # and a closed campaign takes no new group
        env.group("bob")
