"""Pool preference (SPEC §2 flow 3, issue 9 item 12): a claim takes from the pool a kind the claimant lacks first,
chosen deterministically (the lacking kind with the most vouchers in the pool), then the oldest voucher of that
kind across the pool's shards, found through the age each shard records of its oldest voucher per kind.

The same scenarios run on the in-memory fakes and on DynamoDB through the local emulator (the shard items'
``oldest`` hints are kept by the real update expressions there). Given / When / Then.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from local_stack import LocalStack
from shared.campaigns.models import KindWeight, Limits, UserState, Voucher, VoucherSource
from shared.campaigns.ports import CampaignStore
from shared.campaigns.repository import DynamoCampaignStore
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import LedgerService
from shared.ledger.settings import LedgerSettings
from shared.types import Money
from tests.campaigns.fakes import CampaignServices, InMemoryCampaignStore, group_service
from tests.fakes.ledger import InMemoryLedgerStore

KINDS = [KindWeight(kind="FU", weight=1), KindWeight(kind="LU", weight=1), KindWeight(kind="SHOU", weight=1)]
START = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
SETTINGS = LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable")


class World:
    """Services on one store with a clock that the scenario moves; donors' and claimants' holdings are given
    directly (an issued voucher of a chosen kind), vouchers enter the pool through the real pass."""

    def __init__(self, store: CampaignStore, ledger: LedgerService) -> None:
        self.now = START
        self.store = store
        self.service = CampaignServices(store, ledger, group_service(), clock=lambda: self.now,
                                        rng=random.Random(3), sleep=lambda _s: None, pool_shards=4)
        self.cid = self.service.create("admin", uuid.uuid4().hex, "pool", KINDS, Money(amount=1_000, currency="CNY"),
                                       START + timedelta(days=30), ["SCAN"],
                                       Limits(claims_per_day=1_000, passes_per_day=1_000)).campaign_id
        self.campaign = self.service.campaign(self.cid)
        self.n = 0

    def give(self, user: str, kind: str) -> Voucher:
        state, _, _ = self.store.read_for_user(self.campaign, user, [])
        before = state or UserState(user_id=user)
        v = Voucher(voucher_id=f"v_{uuid.uuid4().hex}", campaign_id=self.cid, kind=kind, source=VoucherSource.ISSUER,
                    holder=user, obtained_at=self.now)
        held = {**before.held, kind: before.held.get(kind, 0) + 1}
        self.store.commit_claim(self.campaign, before, before.model_copy(
            update={"version": before.version + 1, "held": held}), v, self.campaign.shard_of(user), None)
        return v

    def pool(self, *kinds: str) -> list[Voucher]:
        """Vouchers of these kinds passed on one after another (each a second older than the next)."""
        passed = []
        for kind in kinds:
            self.now += timedelta(seconds=1)
            v = self.give("donor", kind)
            self.service.pass_on(self.cid, "donor", v.voucher_id)
            passed.append(v)
        return passed

    def claim(self, user: str) -> Voucher:
        self.n += 1
        self.now += timedelta(milliseconds=1)
        self.service.record_interaction(self.cid, user, "SCAN", f"i-{self.n}")
        return self.service.claim(self.cid, user)


@pytest.fixture(params=["fakes", "dynamodb"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "fakes":
        ledger_store = InMemoryLedgerStore()
        yield World(InMemoryCampaignStore(), LedgerService(ledger_store, SETTINGS, sleep=lambda _s: None))
        return
    stack: LocalStack = request.getfixturevalue("clean_stack")
    client = stack.client("dynamodb")
    yield World(DynamoCampaignStore("CampaignsTable", client),
                LedgerService(DynamoLedgerStore(SETTINGS.accounts_table, SETTINGS.ledger_table, client), SETTINGS))


def test_a_sequence_of_claims_drains_the_pool_oldest_first(world: World) -> None:
    # Given a claimant who lacks no kind, and 24 vouchers of every kind pooled one after another over 4 shards
    for kind in ("FU", "LU", "SHOU"):
        world.give("carol", kind)
    kinds = [random.Random(5).choice(["FU", "LU", "SHOU"]) for _ in range(24)]
    passed = world.pool(*kinds)
    assert len({world.campaign.shard_of(v.voucher_id) for v in passed}) == 4  # the pool really is sharded

    # When she claims 24 times
    got = [world.claim("carol") for _ in passed]

    # Then every claim came from the pool, oldest first across every shard and kind, and the pool is empty
    assert all(v.source is VoucherSource.POOL for v in got)
    assert [v.voucher_id for v in got] == [v.voucher_id for v in passed]
    _, pool, _ = world.service.overview(world.cid)
    assert pool == {"FU": 0, "LU": 0, "SHOU": 0}
    assert all(not s.oldest for s in world.store.get_shards(world.campaign))  # no hint outlives its vouchers
    # and the next claim is issued
    assert world.claim("carol").source is VoucherSource.ISSUER


def test_lacking_kinds_first_the_one_with_most_vouchers_in_the_pool_then_the_oldest(world: World) -> None:
    # Given Dave holds only FU, and the pool holds (oldest first) 2 FU, 3 LU and 4 SHOU, interleaved
    world.give("dave", "FU")
    passed = world.pool("FU", "LU", "SHOU", "FU", "SHOU", "LU", "SHOU", "LU", "SHOU")
    oldest = {k: [v.voucher_id for v in passed if v.kind == k] for k in ("FU", "LU", "SHOU")}

    # When he claims, the kinds he lacks come first: SHOU (4 pooled) before LU (3), each its oldest voucher
    first = world.claim("dave")
    assert (first.kind, first.voucher_id) == ("SHOU", oldest["SHOU"][0])
    second = world.claim("dave")
    assert (second.kind, second.voucher_id) == ("LU", oldest["LU"][0])
    # then, lacking nothing, the oldest voucher in the pool whatever its kind: the first FU
    third = world.claim("dave")
    assert (third.kind, third.voucher_id) == ("FU", oldest["FU"][0])

    # And Erin, who holds FU and SHOU, gets the oldest LU left
    world.give("erin", "FU")
    world.give("erin", "SHOU")
    assert world.claim("erin").voucher_id == oldest["LU"][1]
    _, pool, _ = world.service.overview(world.cid)
    assert pool == {"FU": 1, "LU": 1, "SHOU": 3}
    world.pool("LU")
    world.give("fay", "FU")
    assert world.claim("fay").voucher_id == oldest["SHOU"][1]  # SHOU 3 > LU 2
    world.give("gus", "FU")  # LU 2 = SHOU 2: a tie follows the campaign's kind order (FU, LU, SHOU)
    assert world.claim("gus").voucher_id == oldest["LU"][2]


def test_the_choice_is_deterministic(world: World) -> None:
    # Given the same pool and the same claimant twice, the same voucher is chosen (no random shard or kind)
    world.give("gus", "FU")
    world.pool("LU", "SHOU", "SHOU", "LU", "SHOU", "FU")
    shards = world.store.get_shards(world.campaign)
    state, _, _ = world.store.read_for_user(world.campaign, "gus", [])
    assert state is not None
    pick = world.service.claims._pick_from_pool
    picks = {str(pick(world.campaign, state, shards, ["FU", "LU", "SHOU"], 0)) for _ in range(20)}
    assert len(picks) == 1
