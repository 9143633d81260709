"""Typed writes: every conditional write of campaigns and groups, when its condition fails, raises its own named
error, and nothing of the refused operation is written.

The same cases run on the in-memory fakes and on the DynamoDB repositories through the local emulator. The
campaign store's errors are the domain error ``CampaignClosed`` (a pool shard's gate) and the ``StaleWrite``
signals the services retry on, each naming the race that was lost; the group store's are its domain errors and
``GroupChanged``. Given / When / Then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from local_stack import LocalStack
from shared.campaigns.errors import CampaignClosed, NotKeyUser
from shared.campaigns.models import (
    Campaign,
    DrawSet,
    KindWeight,
    Limits,
    PoolEntry,
    UserState,
    Voucher,
    VoucherSource,
    VoucherStatus,
)
from shared.campaigns.ports import (
    CampaignStore,
    HoldingChanged,
    PoolEntryExists,
    PoolEntryTaken,
    SetAlreadyRecorded,
    StateChanged,
    VoucherIdTaken,
)
from shared.campaigns.repository import DynamoCampaignStore
from shared.errors import AlreadyExists
from shared.groups.errors import AlreadyInGroup, GroupFull, GroupLockedForDraw, GroupNotFound, InvitationNotFound
from shared.groups.models import Group, Invitation, Role
from shared.groups.ports import GroupChanged, GroupStore
from shared.groups.repository import MAX_MEMBERS, DynamoGroupStore
from shared.types import Money
from shared.writes import GuardedWrite, transact
from tests.campaigns.fakes import InMemoryCampaignStore, InMemoryGroupStore
from tests.fakes.ledger import check_all, commit_all

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KINDS = (KindWeight(kind="FU", weight=1), KindWeight(kind="LU", weight=1))


@dataclass
class Stores:
    campaigns: CampaignStore
    groups: GroupStore
    commit: Callable[[Sequence[GuardedWrite]], None]  # another capability's writes, committed alone


@pytest.fixture(params=["fakes", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "fakes":
        def commit(writes: Sequence[GuardedWrite]) -> None:
            check_all(writes)
            commit_all(writes)

        yield Stores(InMemoryCampaignStore(), InMemoryGroupStore(), commit)
        return
    stack: LocalStack = request.getfixturevalue("clean_stack")
    client = stack.client("dynamodb")
    yield Stores(DynamoCampaignStore("CampaignsTable", client), DynamoGroupStore("GroupsTable", client),
                 lambda writes: transact(client, writes))


def refused(call: Callable[[], object], error: type[Exception]) -> Exception:
    with pytest.raises(error) as caught:
        call()
    return caught.value


# --- campaigns ----------------------------------------------------------------------------------------------------
def campaign(stores: Stores) -> Campaign:
    c = Campaign(campaign_id="cmp_" + uuid.uuid4().hex, name="New Year", kinds=KINDS,
                 prize_pot=Money(amount=1_000, currency="CNY"), account_id="cpa_x", draw_at=NOW + timedelta(days=1),
                 interaction_types=frozenset({"SCAN"}), limits=Limits(), pool_shards=2, holder_buckets=2,
                 created_by="admin", created_at=NOW)
    stores.campaigns.create_campaign(c)
    return c


def voucher(c: Campaign, holder: str, kind: str = "FU", vid: str | None = None, group_id: str | None = None) -> Voucher:
    return Voucher(voucher_id=vid or f"v_{uuid.uuid4().hex}", campaign_id=c.campaign_id, kind=kind,
                   source=VoucherSource.KEY_USER if group_id else VoucherSource.ISSUER, holder=holder,
                   obtained_at=NOW, group_id=group_id)


def state(stores: Stores, c: Campaign, user: str) -> UserState:
    found, _, _ = stores.campaigns.read_for_user(c, user, [])
    return found or UserState(user_id=user)


def after(before: UserState, kind: str, delta: int) -> UserState:
    return before.model_copy(update={"version": before.version + 1,
                                     "held": {**before.held, kind: before.held.get(kind, 0) + delta}})


def issue(stores: Stores, c: Campaign, user: str, kind: str = "FU", vid: str | None = None) -> Voucher:
    v = voucher(c, user, kind, vid)
    before = state(stores, c, user)
    stores.campaigns.commit_claim(c, before, after(before, kind, +1), v, 0, None)
    return v


def pool(stores: Stores, c: Campaign, v: Voucher, at: datetime = NOW) -> PoolEntry:
    entry = PoolEntry(voucher_id=v.voucher_id, kind=v.kind, shard=c.shard_of(v.voucher_id), donor=v.holder,
                      pooled_at=at)
    before = state(stores, c, v.holder)
    stores.campaigns.commit_pass(c, before, after(before, v.kind, -1), v, entry)
    return entry


def holds(stores: Stores, c: Campaign, user: str) -> list[str]:
    return [v.voucher_id for v in stores.campaigns.list_vouchers(c.campaign_id, user)]


def test_a_closed_gate_is_campaign_closed_and_nothing_moves(stores: Stores) -> None:
    c = campaign(stores)
    v = issue(stores, c, "alice")
    stores.campaigns.freeze_shards(c)
    before = state(stores, c, "bob")
    err = refused(lambda: stores.campaigns.commit_claim(c, before, after(before, "FU", +1), voucher(c, "bob"), 0,
                                                        None), CampaignClosed)
    assert err.details == {"campaign_id": c.campaign_id}
    entry = PoolEntry(voucher_id=v.voucher_id, kind="FU", shard=0, donor="alice", pooled_at=NOW)
    alice = state(stores, c, "alice")
    refused(lambda: stores.campaigns.commit_pass(c, alice, after(alice, "FU", -1), v, entry), CampaignClosed)
    assert holds(stores, c, "bob") == [] and holds(stores, c, "alice") == [v.voucher_id]
    assert state(stores, c, "alice") == alice


def test_a_stale_state_is_state_changed(stores: Stores) -> None:
    c = campaign(stores)
    stale = state(stores, c, "alice")
    issue(stores, c, "alice")  # the state moved on (version 1)
    late = voucher(c, "alice")
    refused(lambda: stores.campaigns.commit_claim(c, stale, after(stale, "FU", +1), late, 0, None), StateChanged)
    assert late.voucher_id not in holds(stores, c, "alice")
    assert state(stores, c, "alice").version == 1


def test_a_pooled_voucher_taken_by_another_claim_is_pool_entry_taken(stores: Stores) -> None:
    c = campaign(stores)
    entry = pool(stores, c, issue(stores, c, "donor"))
    got = {}
    for user in ("alice", "bob"):
        before = state(stores, c, user)
        got[user] = (before, voucher(c, user, vid=entry.voucher_id))
    before, v = got["alice"]
    stores.campaigns.commit_claim(c, before, after(before, "FU", +1), v, entry.shard, entry)
    before, v = got["bob"]
    refused(lambda: stores.campaigns.commit_claim(c, before, after(before, "FU", +1), v, entry.shard, entry),
            PoolEntryTaken)
    assert holds(stores, c, "alice") == [entry.voucher_id] and holds(stores, c, "bob") == []
    assert sum(stores.campaigns.get_shards(c)[entry.shard].counts.values()) == 0  # counted out once


def test_a_voucher_id_already_held_is_voucher_id_taken(stores: Stores) -> None:
    c = campaign(stores)
    v = issue(stores, c, "alice")
    refused(lambda: issue(stores, c, "alice", vid=v.voucher_id), VoucherIdTaken)
    assert state(stores, c, "alice").held == {"FU": 1}


def test_passing_a_voucher_no_longer_held_is_holding_changed(stores: Stores) -> None:
    c = campaign(stores)
    v = issue(stores, c, "alice")
    pool(stores, c, v)
    refused(lambda: pool(stores, c, v, at=NOW + timedelta(seconds=1)), HoldingChanged)
    assert sum(stores.campaigns.get_shards(c)[c.shard_of(v.voucher_id)].counts.values()) == 1


def test_a_pool_entry_with_the_same_key_is_pool_entry_exists(stores: Stores) -> None:
    c = campaign(stores)
    v = issue(stores, c, "alice")
    pool(stores, c, v)
    twin = issue(stores, c, "bob", vid=v.voucher_id)  # the same id in another holder's partition
    refused(lambda: pool(stores, c, twin), PoolEntryExists)
    assert holds(stores, c, "bob") == [v.voucher_id]


def test_the_draws_set_writes(stores: Stores) -> None:
    c = campaign(stores)
    fu, lu = issue(stores, c, "alice", "FU"), issue(stores, c, "alice", "LU")
    before = state(stores, c, "alice")

    def drawset(n: int, *vouchers: Voucher) -> DrawSet:
        return DrawSet(set_id=f"{c.bucket_of('alice')}#alice#{n:04d}", campaign_id=c.campaign_id, user_id="alice",
                       voucher_ids=tuple(v.voucher_id for v in vouchers))

    done = before.model_copy(update={"version": before.version + 1, "sets": 1, "held": {"FU": 0, "LU": 0}})
    stores.campaigns.commit_set(c, before, done, drawset(1, fu, lu), NOW)
    # the same state again: stale
    refused(lambda: stores.campaigns.commit_set(c, before, done, drawset(2, fu, lu), NOW), StateChanged)
    # fresh state, but the vouchers were consumed
    refused(lambda: stores.campaigns.commit_set(c, done, done.model_copy(update={"version": 3}), drawset(2, fu, lu),
                                                NOW), HoldingChanged)
    # fresh state and held vouchers, but set 1 is recorded
    more = [issue(stores, c, "alice", k) for k in ("FU", "LU")]
    now = state(stores, c, "alice")
    refused(lambda: stores.campaigns.commit_set(c, now, now.model_copy(update={"version": now.version + 1}),
                                                drawset(1, *more), NOW), SetAlreadyRecorded)
    assert [s.voucher_ids for s in stores.campaigns.list_sets(c, c.bucket_of("alice"))] == [
        (fu.voucher_id, lu.voucher_id)]
    assert {v.voucher_id: v.status for v in stores.campaigns.list_vouchers(c.campaign_id, "alice")} == {
        fu.voucher_id: VoucherStatus.CONSUMED, lu.voucher_id: VoucherStatus.CONSUMED,
        more[0].voucher_id: VoucherStatus.HELD, more[1].voucher_id: VoucherStatus.HELD}


def test_an_interaction_is_granted_once(stores: Stores) -> None:
    c = campaign(stores)
    assert stores.campaigns.record_interaction(c.campaign_id, "alice", "i-1", "SCAN", NOW) is True
    assert stores.campaigns.record_interaction(c.campaign_id, "alice", "i-1", "SCAN", NOW) is False
    assert state(stores, c, "alice").rights_granted == 1


def test_another_capabilitys_failing_write_refuses_the_claim(stores: Stores) -> None:
    # Given Alice's group is Bob's, not hers
    c = campaign(stores)
    group = Group(group_id="grp_" + uuid.uuid4().hex, name="family", owner="bob", campaign_id=c.campaign_id,
                  created_at=NOW, members=("bob",))
    stores.groups.create(group)
    v = voucher(c, "alice", group_id=group.group_id)
    before = state(stores, c, "alice")
    shared = stores.groups.shared_voucher_write(group.group_id, "alice", c.campaign_id, v.voucher_id,
                                                on_failure=lambda: NotKeyUser(campaign_id=c.campaign_id))
    # When her key-user claim commits with the group's write, the group's error refuses it, and nothing moved
    refused(lambda: stores.campaigns.commit_claim(c, before, after(before, "FU", +1), v, 0, None, writes=[shared]),
            NotKeyUser)
    assert holds(stores, c, "alice") == [] and state(stores, c, "alice").version == 0
    assert stores.groups.get(group.group_id).shared_voucher is None  # type: ignore[union-attr]
    assert stores.campaigns.group_registry(c, c.bucket_of(group.group_id)) == []
    # and with the right key user both commit together: the voucher, the group's record and the draw's registry
    bobs = voucher(c, "bob", group_id=group.group_id)
    bob = state(stores, c, "bob")
    ok = stores.groups.shared_voucher_write(group.group_id, "bob", c.campaign_id, bobs.voucher_id,
                                            on_failure=lambda: NotKeyUser(campaign_id=c.campaign_id))
    stores.campaigns.commit_claim(c, bob, after(bob, "FU", +1), bobs, 0, None, writes=[ok])
    assert stores.groups.get(group.group_id).shared_voucher == bobs.voucher_id  # type: ignore[union-attr]
    assert stores.campaigns.group_registry(c, c.bucket_of(group.group_id)) == [group.group_id]


def test_a_group_snapshot_is_kept_once(stores: Stores) -> None:
    c = campaign(stores)
    assert stores.campaigns.get_group_snapshot(c, "grp_a") is None
    assert stores.campaigns.save_group_snapshot(c, "grp_a", ["bob", "alice"]) == ["alice", "bob"]
    assert stores.campaigns.save_group_snapshot(c, "grp_a", ["alice", "bob", "mallory"]) == ["alice", "bob"]
    assert stores.campaigns.get_group_snapshot(c, "grp_a") == ["alice", "bob"]


# --- groups -------------------------------------------------------------------------------------------------------
def group(stores: Stores, owner: str = "alice", campaign_id: str = "cmp_a") -> Group:
    g = Group(group_id="grp_" + uuid.uuid4().hex, name="family", owner=owner, campaign_id=campaign_id,
              created_at=NOW, members=(owner,))
    stores.groups.create(g)
    return g


def invitation(stores: Stores, g: Group, expires_at: datetime = NOW + timedelta(days=1)) -> Invitation:
    i = Invitation(code=uuid.uuid4().hex, group_id=g.group_id, created_by=g.owner, expires_at=expires_at)
    stores.groups.put_invitation(i)
    return i


def fresh(stores: Stores, g: Group) -> Group:
    found = stores.groups.get(g.group_id)
    assert found is not None
    return found


def share(stores: Stores, g: Group, voucher_id: str = "v_shared") -> Group:
    stores.commit([stores.groups.shared_voucher_write(g.group_id, g.owner, g.campaign_id, voucher_id,
                                                      on_failure=lambda: NotKeyUser())])
    return fresh(stores, g)


def test_one_group_per_user_and_campaign(stores: Stores) -> None:
    g = group(stores, "alice", "cmp_a")
    err = refused(lambda: group(stores, "alice", "cmp_a"), AlreadyInGroup)
    assert err.details == {"campaign_id": "cmp_a"}
    group(stores, "alice", "cmp_b")  # another campaign: another group
    assert stores.groups.membership("alice", "cmp_a") == (g.group_id, Role.KEY_USER)
    taken = g.model_copy(update={"owner": "carol"})
    refused(lambda: stores.groups.create(taken), AlreadyExists)
    assert stores.groups.membership("carol", "cmp_a") is None


def test_join_refusals_name_their_condition(stores: Stores) -> None:
    g = group(stores)
    expired = invitation(stores, g, expires_at=NOW - timedelta(seconds=1))
    refused(lambda: stores.groups.join(expired, g, "bob", NOW), InvitationNotFound)
    code = invitation(stores, g)
    group(stores, "carol", g.campaign_id)
    refused(lambda: stores.groups.join(code, g, "carol", NOW), AlreadyInGroup)  # leads another group here
    ghost = Group(group_id="grp_" + uuid.uuid4().hex, name="x", owner="zed", campaign_id="cmp_a", created_at=NOW)
    refused(lambda: stores.groups.join(invitation(stores, ghost), ghost, "bob", NOW), GroupNotFound)
    assert stores.groups.membership("bob", "cmp_a") is None and fresh(stores, g).members == ("alice",)


def test_a_full_group_is_group_full(stores: Stores) -> None:
    g = group(stores)
    code = invitation(stores, g)
    for n in range(MAX_MEMBERS - 1):
        stores.groups.join(code, g, f"m{n:02d}", NOW)
    err = refused(lambda: stores.groups.join(code, g, "late", NOW), GroupFull)
    assert err.details == {"maximum": MAX_MEMBERS}
    assert len(fresh(stores, g).members) == MAX_MEMBERS and stores.groups.membership("late", "cmp_a") is None


def test_a_group_that_gained_its_shared_voucher_since_it_was_read_is_group_changed(stores: Stores) -> None:
    read = group(stores)
    code = invitation(stores, read)
    stores.groups.join(code, read, "bob", NOW)
    share(stores, read)
    refused(lambda: stores.groups.join(code, read, "carol", NOW), GroupChanged)
    refused(lambda: stores.groups.leave(read, "bob"), GroupChanged)
    assert fresh(stores, read).members == ("alice", "bob")


def test_the_draw_lock_holds_groups_with_a_shared_voucher(stores: Stores) -> None:
    shared, plain = group(stores, "alice"), group(stores, "dave")
    code, plain_code = invitation(stores, shared), invitation(stores, plain)
    stores.groups.join(code, shared, "bob", NOW)
    shared = share(stores, shared)
    stores.groups.lock_for_draw("cmp_a")
    err = refused(lambda: stores.groups.join(code, shared, "carol", NOW), GroupLockedForDraw)
    assert err.details == {"group_id": shared.group_id, "campaign_id": "cmp_a"}
    refused(lambda: stores.groups.leave(shared, "bob"), GroupLockedForDraw)
    stores.groups.join(plain_code, plain, "erin", NOW)  # no shared voucher: not held
    assert fresh(stores, shared).members == ("alice", "bob")
    stores.groups.unlock_after_draw("cmp_a")
    stores.groups.lock_for_draw("cmp_a")  # a re-run of a settled draw locks nothing
    stores.groups.join(code, shared, "carol", NOW)
    stores.groups.leave(fresh(stores, shared), "bob")
    assert fresh(stores, shared).members == ("alice", "carol")


def test_only_members_leave(stores: Stores) -> None:
    g = group(stores)
    refused(lambda: stores.groups.leave(g, "bob"), GroupNotFound)  # not a member
    refused(lambda: stores.groups.leave(g, "alice"), GroupNotFound)  # the key user's membership is not a MEMBER's
    assert fresh(stores, g).members == ("alice",)


def test_the_shared_voucher_is_recorded_only_for_the_key_user_of_that_campaign(stores: Stores) -> None:
    g = group(stores, "alice", "cmp_a")
    for who, campaign_id in (("bob", "cmp_a"), ("alice", "cmp_b")):
        write = stores.groups.shared_voucher_write(g.group_id, who, campaign_id, "v_x",
                                                   on_failure=lambda c=campaign_id: NotKeyUser(campaign_id=c))
        err = refused(lambda write=write: stores.commit([write]), NotKeyUser)
        assert err.details == {"campaign_id": campaign_id}
    assert fresh(stores, g).shared_voucher is None
