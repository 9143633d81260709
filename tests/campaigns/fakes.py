"""In-memory fakes with the same write semantics as the DynamoDB stores (for unit tests), and the campaign
services wired together on whatever store they are given."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.campaigns.models import (
    Campaign,
    CampaignStatus,
    DrawSet,
    DrawTally,
    Payment,
    PoolEntry,
    PoolShard,
    UserState,
    Voucher,
    VoucherStatus,
)
from shared.campaigns.ports import CampaignFrozen, CampaignStore, EventPublisher, GroupDirectory, StaleWrite
from shared.campaigns.services import CampaignService, ClaimService, KeyUserService, PassService
from shared.clock import utcnow
from shared.errors import AlreadyExists
from shared.ledger.service import LedgerService
from shared.writes import GuardedWrite
from tests.fakes.ledger import FakeWrite


class InMemoryCampaignStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.campaigns: dict[str, Campaign] = {}
        self.shards: dict[tuple[str, int], PoolShard] = {}
        self.pool: dict[tuple[str, int], dict[str, PoolEntry]] = {}
        self.states: dict[tuple[str, str], UserState] = {}
        self.holdings: dict[tuple[str, str], dict[str, Voucher]] = {}
        self.interactions: set[tuple[str, str]] = set()
        self.audit: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sets: dict[tuple[str, int], dict[str, DrawSet]] = {}
        self.tallies: dict[str, DrawTally] = {}
        self.snapshots: dict[tuple[str, str], list[str]] = {}
        self.payments: dict[tuple[str, str], dict[str, Payment]] = {}
        self.paid: dict[tuple[str, int], int] = {}  # (campaign, bucket) -> prizes paid
        self.unlisted: set[str] = set()

    # --- campaign -------------------------------------------------------------
    def create_campaign(self, campaign: Campaign) -> None:
        with self.lock:
            if campaign.campaign_id in self.campaigns:
                raise AlreadyExists(campaign_id=campaign.campaign_id)
            self.campaigns[campaign.campaign_id] = campaign
            for s in range(campaign.pool_shards):
                self.shards[(campaign.campaign_id, s)] = PoolShard(
                    shard=s, status=CampaignStatus.OPEN, counts={k: 0 for k in campaign.kind_names})
                self.pool[(campaign.campaign_id, s)] = {}

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(campaign_id)

    def due_campaigns(self, now: datetime) -> list[tuple[str, str]]:
        return [(c.campaign_id, c.campaign_id) for c in self.campaigns.values()
                if c.draw_at <= now and c.campaign_id not in self.unlisted]

    def unlist_due(self, index_key: str) -> None:
        self.unlisted.add(index_key)

    def get_shards(self, campaign: Campaign) -> list[PoolShard]:
        return [self.shards[(campaign.campaign_id, s)] for s in range(campaign.pool_shards)]

    def set_status(self, campaign: Campaign, to: str, allowed_from: Iterable[str]) -> bool:
        with self.lock:
            current = self.campaigns[campaign.campaign_id]
            if current.status.value not in set(allowed_from):
                return False
            self.campaigns[campaign.campaign_id] = current.model_copy(update={"status": CampaignStatus(to)})
            return True

    def freeze_shards(self, campaign: Campaign) -> None:
        with self.lock:
            for s in range(campaign.pool_shards):
                key = (campaign.campaign_id, s)
                self.shards[key] = self.shards[key].model_copy(update={"status": CampaignStatus.DRAWING})

    # --- user operations ------------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_id: str, interaction_type: str,
                           at: datetime) -> bool:
        with self.lock:
            if (campaign_id, interaction_id) in self.interactions:
                return False
            self.interactions.add((campaign_id, interaction_id))
            state = self.states.get((campaign_id, user_id)) or UserState(user_id=user_id)
            self.states[(campaign_id, user_id)] = state.model_copy(
                update={"rights_granted": state.rights_granted + 1})
            return True

    def read_for_user(self, campaign: Campaign, user_id: str, shards: Iterable[int],
                      voucher_id: str | None = None) -> tuple[UserState | None, list[PoolShard], Voucher | None]:
        with self.lock:
            cid = campaign.campaign_id
            voucher = self.holdings.get((cid, user_id), {}).get(voucher_id) if voucher_id else None
            return (self.states.get((cid, user_id)), [self.shards[(cid, s)] for s in shards], voucher)

    def pool_candidates(self, campaign: Campaign, shard: int, kind: str | None, limit: int) -> list[PoolEntry]:
        with self.lock:
            entries = [e for e in self.pool[(campaign.campaign_id, shard)].values() if kind is None or e.kind == kind]
            return sorted(entries, key=lambda e: (e.pooled_at, e.voucher_id))[:limit]

    def _check_state(self, cid: str, before: UserState) -> None:
        current = self.states.get((cid, before.user_id))
        if (current.version if current else 0) != before.version:
            raise StaleWrite("version")

    def _gate(self, cid: str, shard: int) -> PoolShard:
        gate = self.shards[(cid, shard)]
        if gate.status is not CampaignStatus.OPEN:
            raise CampaignFrozen()
        return gate

    def _put_state(self, cid: str, after: UserState) -> None:
        current = self.states.get((cid, after.user_id))
        granted = current.rights_granted if current else 0
        self.states[(cid, after.user_id)] = after.model_copy(update={"rights_granted": granted})

    def _log(self, cid: str, vid: str, action: str, **fields: Any) -> None:
        self.audit.setdefault((cid, vid), []).append({"action": action, **fields})

    def commit_claim(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                     gate_shard: int, taken: PoolEntry | None) -> None:
        cid = campaign.campaign_id
        with self.lock:
            gate = self._gate(cid, gate_shard)
            self._check_state(cid, before)
            if taken is not None and taken.voucher_id not in self.pool[(cid, taken.shard)]:
                raise StaleWrite("pool entry gone")
            if voucher.voucher_id in self.holdings.get((cid, voucher.holder), {}):
                raise StaleWrite("voucher exists")
            if taken is not None:
                del self.pool[(cid, taken.shard)][taken.voucher_id]
                counts = dict(gate.counts)
                counts[taken.kind] -= 1
                self.shards[(cid, gate_shard)] = gate.model_copy(update={"counts": counts})
            else:
                self.shards[(cid, gate_shard)] = gate.model_copy(update={"issued": gate.issued + 1})
            self._put_state(cid, after)
            self.holdings.setdefault((cid, voucher.holder), {})[voucher.voucher_id] = voucher
            self._log(cid, voucher.voucher_id, "FROM_POOL" if taken else voucher.source.value, to=voucher.holder,
                      donor=voucher.donor)

    def commit_pass(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                    entry: PoolEntry) -> None:
        cid = campaign.campaign_id
        with self.lock:
            gate = self._gate(cid, entry.shard)
            self._check_state(cid, before)
            held = self.holdings.get((cid, voucher.holder), {}).get(voucher.voucher_id)
            if held is None or held.status is not VoucherStatus.HELD:
                raise StaleWrite("voucher not held")
            del self.holdings[(cid, voucher.holder)][voucher.voucher_id]
            self.pool[(cid, entry.shard)][entry.voucher_id] = entry
            counts = dict(gate.counts)
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
            self.shards[(cid, entry.shard)] = gate.model_copy(update={"counts": counts})
            self._put_state(cid, after)
            self._log(cid, voucher.voucher_id, "PASSED", donor=entry.donor)

    def list_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]:
        return sorted(self.holdings.get((campaign_id, user_id), {}).values(), key=lambda v: v.voucher_id)

    def voucher_history(self, campaign_id: str, voucher_id: str) -> list[dict[str, Any]]:
        return list(self.audit.get((campaign_id, voucher_id), []))

    # --- draw -----------------------------------------------------------------
    def holders(self, campaign: Campaign, bucket: int) -> list[UserState]:
        return [s for (cid, user), s in sorted(self.states.items())
                if cid == campaign.campaign_id and campaign.bucket_of(user) == bucket]

    def held_vouchers(self, campaign: Campaign, user_id: str) -> list[Voucher]:
        return [v for v in self.list_vouchers(campaign.campaign_id, user_id) if v.status is VoucherStatus.HELD]

    def commit_set(self, campaign: Campaign, before: UserState, after: UserState, drawset: DrawSet,
                   at: datetime) -> None:
        cid = campaign.campaign_id
        with self.lock:
            self._check_state(cid, before)
            holding = self.holdings.get((cid, before.user_id), {})
            if any(holding.get(v) is None or holding[v].status is not VoucherStatus.HELD for v in drawset.voucher_ids):
                raise StaleWrite("voucher not held")
            bucket = self.sets.setdefault((cid, campaign.bucket_of(before.user_id)), {})
            if drawset.set_id in bucket:
                raise StaleWrite("set exists")
            for v in drawset.voucher_ids:
                holding[v] = holding[v].model_copy(update={"status": VoucherStatus.CONSUMED})
                self._log(cid, v, "CONSUMED", set_id=drawset.set_id)
            bucket[drawset.set_id] = drawset
            self._put_state(cid, after)

    def list_sets(self, campaign: Campaign, bucket: int, user_id: str | None = None) -> list[DrawSet]:
        rows = self.sets.get((campaign.campaign_id, bucket), {}).values()
        return sorted((s for s in rows if user_id is None or s.user_id == user_id), key=lambda s: s.set_id)

    def count_sets(self, campaign: Campaign, bucket: int) -> int:
        return len(self.list_sets(campaign, bucket))

    def save_tally(self, campaign: Campaign, tally: DrawTally) -> DrawTally:
        with self.lock:
            return self.tallies.setdefault(campaign.campaign_id, tally)

    def get_tally(self, campaign_id: str) -> DrawTally | None:
        return self.tallies.get(campaign_id)

    def save_group_snapshot(self, campaign_id: str, group_id: str, members: list[str]) -> list[str]:
        with self.lock:
            return list(self.snapshots.setdefault((campaign_id, group_id), sorted(members)))

    def get_group_snapshot(self, campaign_id: str, group_id: str) -> list[str] | None:
        return self.snapshots.get((campaign_id, group_id))

    def payment_writes(self, campaign: Campaign, bucket: int, payment: Payment) -> list[GuardedWrite]:
        def record() -> None:
            with self.lock:
                self.payments.setdefault((campaign.campaign_id, payment.payee), {})[payment.transaction_id] = payment
                key = (campaign.campaign_id, bucket)
                self.paid[key] = self.paid.get(key, 0) + payment.amount.amount

        return [GuardedWrite.failing_with(FakeWrite(lambda: True, record), lambda: StaleWrite("payment record"))]

    def paid_total(self, campaign: Campaign) -> int:
        return sum(v for (cid, _), v in self.paid.items() if cid == campaign.campaign_id)

    def list_payments(self, campaign_id: str, user_id: str) -> list[Payment]:
        return sorted(self.payments.get((campaign_id, user_id), {}).values(), key=lambda p: p.transaction_id)


class FakeGroups:
    def __init__(self) -> None:
        self.owner_of: dict[str, str] = {}  # user -> group they lead
        self.group_members: dict[str, list[str]] = {}

    def add(self, group_id: str, owner: str, *members: str) -> None:
        self.owner_of[owner] = group_id
        self.group_members[group_id] = [owner, *members]

    def key_user_group(self, user_id: str) -> str | None:
        return self.owner_of.get(user_id)

    def members(self, group_id: str) -> list[str]:
        return list(self.group_members.get(group_id, []))


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        self.events.append((detail_type, dict(detail)))


class CampaignServices:
    """The campaign services wired to each other as ``shared.campaigns.wiring`` wires them (one campaign
    service whose cached configuration the voucher services share), behind one object, so that a scenario
    reads as the users' actions: ``services.claim(...)``, ``services.pass_on(...)``."""

    def __init__(self, store: CampaignStore, ledger: LedgerService, groups: GroupDirectory, events: EventPublisher,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep, pool_shards: int = 8, holder_buckets: int = 16) -> None:
        rng = rng or random.Random()
        self.campaigns = CampaignService(store, ledger, events, clock=clock, pool_shards=pool_shards,
                                         holder_buckets=holder_buckets)
        self.claims = ClaimService(self.campaigns, store, events, clock=clock, rng=rng, sleep=sleep)
        self.passing = PassService(self.campaigns, store, events, clock=clock, rng=rng, sleep=sleep)
        self.key_users = KeyUserService(self.campaigns, store, groups, events, clock=clock, rng=rng, sleep=sleep)
        self.create = self.campaigns.create
        self.campaign = self.campaigns.campaign
        self.overview = self.campaigns.overview
        self.record_interaction = self.claims.record_interaction
        self.claim = self.claims.claim
        self.my_vouchers = self.claims.my_vouchers
        self.pass_on = self.passing.pass_on
        self.key_user_claim = self.key_users.key_user_claim
