"""In-memory fakes with the same write semantics as the DynamoDB stores (for unit tests), and the campaign
services wired together on whatever stores they are given.

Like the DynamoDB stores, every conditional write is a ``GuardedWrite`` (of a ``FakeWrite``: a check and a
commit) carrying the error its condition stands for; a move checks all its writes, then commits them all, under
one lock (``check_all``/``commit_all``), so the first failing write raises its own error and nothing is written.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.campaigns.errors import CampaignClosed
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
from shared.campaigns.ports import (
    CampaignStore,
    GroupDirectory,
    HoldingChanged,
    PoolEntryExists,
    PoolEntryTaken,
    SetAlreadyRecorded,
    StateChanged,
    VoucherIdTaken,
)
from shared.campaigns.services import CampaignService, ClaimService, KeyUserService, PassService
from shared.clock import iso, utcnow
from shared.errors import AlreadyExists
from shared.groups.errors import AlreadyInGroup, GroupFull, GroupLockedForDraw, GroupNotFound, InvitationNotFound
from shared.groups.models import Group, Invitation, Role
from shared.groups.ports import GroupChanged
from shared.groups.repository import DRAWING, MAX_MEMBERS, SETTLED
from shared.groups.service import GroupService
from shared.ledger.ports import TransactionAlreadyApplied
from shared.ledger.service import LedgerService
from shared.outbox import DuplicateEvent, OutboxEvent
from shared.writes import ConflictingWrite, GuardedWrite
from tests.fakes.ledger import FakeWrite, check_all, commit_all


def outbox_writes(outbox: dict[str, OutboxEvent], events: Sequence[OutboxEvent],
                  duplicate: Callable[[str], Exception]) -> list[GuardedWrite]:
    """The outbox puts of ``events`` into ``outbox`` (put once by event id, like the DynamoDB stores' items)."""
    def put(event: OutboxEvent) -> GuardedWrite:
        return GuardedWrite.failing_with(
            FakeWrite(lambda: event.event_id not in outbox, lambda: outbox.__setitem__(event.event_id, event)),
            lambda: duplicate(event.event_id))
    return [put(e) for e in events]


def _always(commit: Callable[[], None]) -> FakeWrite:
    """An unconditional write (audit, registries)."""
    return FakeWrite(lambda: True, commit)


class _Recorded(Exception):
    """The interaction id was recorded before."""


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
        self.shared_groups: dict[tuple[str, str], str] = {}  # (campaign, group) -> group-shared voucher
        self.snapshots: dict[tuple[str, str], list[str]] = {}
        self.payments: dict[tuple[str, str], dict[str, Payment]] = {}
        self.paid: dict[tuple[str, int], int] = {}  # (campaign, bucket) -> prizes paid
        self.unlisted: set[str] = set()
        self.outbox: dict[str, OutboxEvent] = {}  # event id -> event, written with its change (the outbox)

    def _outbox(self, events: Sequence[OutboxEvent], duplicate: Callable[[str], Exception] = DuplicateEvent,
                ) -> list[GuardedWrite]:
        return outbox_writes(self.outbox, events, duplicate)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """(detail type, detail) of every event written, in the order written."""
        return [(e.detail_type, e.detail) for e in self.outbox.values()]

    # --- campaign -------------------------------------------------------------
    def create_campaign(self, campaign: Campaign, events: Sequence[OutboxEvent] = ()) -> None:
        with self.lock:
            if campaign.campaign_id in self.campaigns:
                raise AlreadyExists(campaign_id=campaign.campaign_id)
            self._commit(self._outbox(events))
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

    def set_status(self, campaign: Campaign, to: str, allowed_from: Iterable[str],
                   events: Sequence[OutboxEvent] = ()) -> bool:
        with self.lock:
            current = self.campaigns[campaign.campaign_id]
            if current.status.value not in set(allowed_from):
                return False
            self._commit(self._outbox(events))
            self.campaigns[campaign.campaign_id] = current.model_copy(update={"status": CampaignStatus(to)})
            return True

    def freeze_shards(self, campaign: Campaign) -> None:
        with self.lock:
            for s in range(campaign.pool_shards):
                key = (campaign.campaign_id, s)
                self.shards[key] = self.shards[key].model_copy(update={"status": CampaignStatus.DRAWING})

    # --- user operations ------------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_id: str, interaction_type: str,
                           at: datetime, events: Sequence[OutboxEvent] = ()) -> bool:
        key = (campaign_id, interaction_id)

        def grant() -> None:
            self.interactions.add(key)
            state = self.states.get((campaign_id, user_id)) or UserState(user_id=user_id)
            self.states[(campaign_id, user_id)] = state.model_copy(
                update={"rights_granted": state.rights_granted + 1})

        try:
            self._commit([GuardedWrite.failing_with(FakeWrite(lambda: key not in self.interactions, grant),
                                                    lambda: _Recorded(interaction_id)), *self._outbox(events)])
        except _Recorded:
            return False
        return True

    def read_for_user(self, campaign: Campaign, user_id: str, shards: Iterable[int],
                      voucher_id: str | None = None) -> tuple[UserState | None, list[PoolShard], Voucher | None]:
        with self.lock:
            cid = campaign.campaign_id
            voucher = self.holdings.get((cid, user_id), {}).get(voucher_id) if voucher_id else None
            return (self.states.get((cid, user_id)), [self.shards[(cid, s)] for s in shards], voucher)

    def pool_candidates(self, campaign: Campaign, shard: int, kind: str, limit: int) -> list[PoolEntry]:
        with self.lock:
            entries = [e for e in self.pool[(campaign.campaign_id, shard)].values() if e.kind == kind]
            return sorted(entries, key=lambda e: e.age)[:limit]

    # --- guarded writes ---------------------------------------------------------
    def _commit(self, writes: Sequence[GuardedWrite]) -> None:
        with self.lock:
            check_all(writes)
            commit_all(writes)

    def _gate_write(self, cid: str, shard: int, change: Callable[[PoolShard], PoolShard]) -> GuardedWrite:
        def commit() -> None:
            self.shards[(cid, shard)] = change(self.shards[(cid, shard)])

        return GuardedWrite.failing_with(
            FakeWrite(lambda: self.shards[(cid, shard)].status is CampaignStatus.OPEN, commit),
            lambda: CampaignClosed(campaign_id=cid))

    def _state_write(self, cid: str, before: UserState, after: UserState) -> GuardedWrite:
        def check() -> bool:
            current = self.states.get((cid, before.user_id))
            return (current.version if current else 0) == before.version

        def commit() -> None:
            current = self.states.get((cid, after.user_id))
            granted = current.rights_granted if current else 0
            self.states[(cid, after.user_id)] = after.model_copy(update={"rights_granted": granted})

        return GuardedWrite.failing_with(FakeWrite(check, commit), lambda: StateChanged(after.user_id))

    def _holding_write(self, cid: str, user: str, voucher_id: str, set_to: Callable[[Voucher], Voucher | None],
                       ) -> GuardedWrite:
        """A HELD holding changes (``set_to`` returns None to delete it)."""
        def check() -> bool:
            held = self.holdings.get((cid, user), {}).get(voucher_id)
            return held is not None and held.status is VoucherStatus.HELD

        def commit() -> None:
            holding = self.holdings[(cid, user)]
            new = set_to(holding[voucher_id])
            if new is None:
                del holding[voucher_id]
            else:
                holding[voucher_id] = new

        return GuardedWrite.failing_with(FakeWrite(check, commit), lambda: HoldingChanged(voucher_id))

    def _log(self, cid: str, vid: str, action: str, **fields: Any) -> GuardedWrite:
        return GuardedWrite.failing_with(
            _always(lambda: self.audit.setdefault((cid, vid), []).append({"action": action, **fields})),
            lambda: AssertionError("unconditional"))

    def commit_claim(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                     gate_shard: int, taken: PoolEntry | None, next_oldest: str | None = None,
                     writes: Sequence[GuardedWrite] = (), events: Sequence[OutboxEvent] = ()) -> None:
        cid = campaign.campaign_id

        def gate_change(gate: PoolShard) -> PoolShard:
            if taken is None:
                return gate.model_copy(update={"issued": gate.issued + 1})
            counts = {**gate.counts, taken.kind: gate.counts[taken.kind] - 1}
            oldest = {k: v for k, v in gate.oldest.items() if k != taken.kind}
            if next_oldest is not None:
                oldest[taken.kind] = next_oldest
            return gate.model_copy(update={"counts": counts, "oldest": oldest})

        guarded = [self._gate_write(cid, gate_shard, gate_change), self._state_write(cid, before, after)]
        if taken is not None:
            entries = self.pool[(cid, taken.shard)]
            guarded.append(GuardedWrite.failing_with(
                FakeWrite(lambda: taken.voucher_id in entries, lambda: entries.pop(taken.voucher_id) and None),
                lambda: PoolEntryTaken(taken.voucher_id)))
        holding = self.holdings.setdefault((cid, voucher.holder), {})
        guarded.append(GuardedWrite.failing_with(
            FakeWrite(lambda: voucher.voucher_id not in holding,
                      lambda: holding.__setitem__(voucher.voucher_id, voucher)),
            lambda: VoucherIdTaken(voucher.voucher_id)))
        guarded.append(self._log(cid, voucher.voucher_id, "FROM_POOL" if taken else voucher.source.value,
                                 to=voucher.holder, donor=voucher.donor))
        if voucher.group_id:
            guarded.append(GuardedWrite.failing_with(
                _always(lambda: self.shared_groups.__setitem__((cid, voucher.group_id or ""), voucher.voucher_id)),
                lambda: AssertionError("unconditional")))
        self._commit([*guarded, *writes, *self._outbox(events)])

    def commit_pass(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                    entry: PoolEntry, events: Sequence[OutboxEvent] = ()) -> None:
        cid = campaign.campaign_id

        def gate_change(gate: PoolShard) -> PoolShard:
            counts = {**gate.counts, entry.kind: gate.counts.get(entry.kind, 0) + 1}
            return gate.model_copy(update={"counts": counts, "oldest": {entry.kind: entry.age, **gate.oldest}})

        entries = self.pool[(cid, entry.shard)]
        self._commit([
            self._gate_write(cid, entry.shard, gate_change), self._state_write(cid, before, after),
            self._holding_write(cid, voucher.holder, voucher.voucher_id, lambda _v: None),
            GuardedWrite.failing_with(FakeWrite(lambda: entry.voucher_id not in entries,
                                                lambda: entries.__setitem__(entry.voucher_id, entry)),
                                      lambda: PoolEntryExists(entry.voucher_id)),
            self._log(cid, voucher.voucher_id, "PASSED", donor=entry.donor, kind=entry.kind, shard=entry.shard,
                      at=iso(entry.pooled_at)),
            *self._outbox(events),
        ])

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
        bucket = self.sets.setdefault((cid, campaign.bucket_of(before.user_id)), {})
        consumed = {"status": VoucherStatus.CONSUMED}
        self._commit([
            self._state_write(cid, before, after),
            *(self._holding_write(cid, before.user_id, v, lambda held: held.model_copy(update=consumed))
              for v in drawset.voucher_ids),
            GuardedWrite.failing_with(FakeWrite(lambda: drawset.set_id not in bucket,
                                                lambda: bucket.__setitem__(drawset.set_id, drawset)),
                                      lambda: SetAlreadyRecorded(drawset.set_id)),
            *(self._log(cid, v, "CONSUMED", set_id=drawset.set_id) for v in drawset.voucher_ids),
        ])

    def list_sets(self, campaign: Campaign, bucket: int, user_id: str | None = None) -> list[DrawSet]:
        rows = self.sets.get((campaign.campaign_id, bucket), {}).values()
        return sorted((s for s in rows if user_id is None or s.user_id == user_id), key=lambda s: s.set_id)

    def count_sets(self, campaign: Campaign, bucket: int) -> int:
        return len(self.list_sets(campaign, bucket))

    def save_tally(self, campaign: Campaign, tally: DrawTally, events: Sequence[OutboxEvent] = ()) -> DrawTally:
        with self.lock:
            if campaign.campaign_id not in self.tallies:
                self._commit(self._outbox(events))
            return self.tallies.setdefault(campaign.campaign_id, tally)

    def get_tally(self, campaign_id: str) -> DrawTally | None:
        return self.tallies.get(campaign_id)

    def group_registry(self, campaign: Campaign, bucket: int) -> list[str]:
        return sorted(g for (cid, g) in self.shared_groups
                      if cid == campaign.campaign_id and campaign.bucket_of(g) == bucket)

    def save_group_snapshot(self, campaign: Campaign, group_id: str, members: list[str]) -> list[str]:
        with self.lock:
            return list(self.snapshots.setdefault((campaign.campaign_id, group_id), sorted(members)))

    def get_group_snapshot(self, campaign: Campaign, group_id: str) -> list[str] | None:
        return self.snapshots.get((campaign.campaign_id, group_id))

    def payment_writes(self, campaign: Campaign, bucket: int, payment: Payment,
                       events: Sequence[OutboxEvent] = ()) -> list[GuardedWrite]:
        def record() -> None:
            with self.lock:
                self.payments.setdefault((campaign.campaign_id, payment.payee), {})[payment.transaction_id] = payment
                key = (campaign.campaign_id, bucket)
                self.paid[key] = self.paid.get(key, 0) + payment.amount.amount

        return [GuardedWrite.failing_with(FakeWrite(lambda: True, record), lambda: ConflictingWrite("payment record")),
                *self._outbox(events, lambda _id: TransactionAlreadyApplied(payment.transaction_id))]

    def paid_total(self, campaign: Campaign) -> int:
        return sum(v for (cid, _), v in self.paid.items() if cid == campaign.campaign_id)

    def list_payments(self, campaign_id: str, user_id: str) -> list[Payment]:
        return sorted(self.payments.get((campaign_id, user_id), {}).values(), key=lambda p: p.transaction_id)


class InMemoryGroupStore:
    """``GroupStore`` with the DynamoDB store's conditions, each a ``GuardedWrite`` of a ``FakeWrite``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.meta: dict[str, dict[str, Any]] = {}  # group id -> name, owner, campaign_id, created_at, shared_voucher
        self.member_rows: dict[str, dict[str, datetime]] = {}
        self.memberships: dict[tuple[str, str], tuple[str, Role]] = {}  # (user, campaign) -> (group, role)
        self.join_requests: dict[tuple[str, str], str | None] = {}  # (user, campaign) -> the joining request's tag
        self.left: dict[tuple[str, str], str] = {}  # (user, group) -> the tag of the request that last left it
        self.invitations: dict[str, Invitation] = {}
        self.draw_locks: dict[str, str] = {}
        self.outbox: dict[str, OutboxEvent] = {}  # event id -> event, written with its change

    def _outbox(self, events: Sequence[OutboxEvent]) -> list[GuardedWrite]:
        return outbox_writes(self.outbox, events, DuplicateEvent)

    def _commit(self, writes: Sequence[GuardedWrite]) -> None:
        with self.lock:
            check_all(writes)
            commit_all(writes)

    def membership(self, user_id: str, campaign_id: str) -> tuple[str, Role] | None:
        return self.memberships.get((user_id, campaign_id))

    def membership_count(self, user_id: str) -> int:
        return sum(1 for (user, _campaign) in self.memberships if user == user_id)

    def joined_with(self, user_id: str, campaign_id: str) -> tuple[str, str | None] | None:
        membership = self.memberships.get((user_id, campaign_id))
        return (membership[0], self.join_requests.get((user_id, campaign_id))) if membership else None

    def left_with(self, user_id: str, group_id: str) -> str | None:
        return self.left.get((user_id, group_id))

    def get(self, group_id: str) -> Group | None:
        with self.lock:
            meta = self.meta.get(group_id)
            if meta is None:
                return None
            return Group(group_id=group_id, members=tuple(sorted(self.member_rows[group_id])),
                         **{k: meta[k] for k in ("name", "owner", "campaign_id", "created_at", "shared_voucher")})

    def get_invitation(self, code: str) -> Invitation | None:
        return self.invitations.get(code)

    def put_invitation(self, invitation: Invitation) -> None:
        with self.lock:
            if invitation.code in self.invitations:
                raise AlreadyExists(code=invitation.code)
            self.invitations[invitation.code] = invitation

    def create(self, group: Group, events: Sequence[OutboxEvent] = ()) -> None:
        def put_meta() -> None:
            self.meta[group.group_id] = {"name": group.name, "owner": group.owner, "campaign_id": group.campaign_id,
                                         "created_at": group.created_at, "shared_voucher": None}
            self.member_rows[group.group_id] = {group.owner: group.created_at}

        self._commit([
            self._membership_put(group.owner, group.campaign_id, group.group_id, Role.KEY_USER),
            GuardedWrite.failing_with(FakeWrite(lambda: group.group_id not in self.meta, put_meta),
                                      lambda: AlreadyExists(group_id=group.group_id)),
            *self._outbox(events),
        ])

    def join(self, invitation: Invitation, group: Group, user_id: str, now: datetime,
             events: Sequence[OutboxEvent] = (), request: str | None = None) -> None:
        def invite_valid() -> bool:
            stored = self.invitations.get(invitation.code)
            return stored is not None and stored.expires_at > now

        self._commit([
            GuardedWrite.failing_with(FakeWrite(invite_valid, lambda: None), InvitationNotFound),
            self._membership_put(user_id, group.campaign_id, group.group_id, Role.MEMBER, request),
            self._count_update(group, +1, lambda: self.member_rows[group.group_id].__setitem__(user_id, now)),
            *self._draw_check(group),
            *self._outbox(events),
        ])

    def leave(self, group: Group, user_id: str, events: Sequence[OutboxEvent] = (),
              request: str | None = None) -> None:
        key = (user_id, group.campaign_id)

        def is_member() -> bool:
            return self.memberships.get(key) == (group.group_id, Role.MEMBER)

        def remove() -> None:
            del self.memberships[key]
            self.join_requests.pop(key, None)
            self.member_rows[group.group_id].pop(user_id, None)
            if request:
                self.left[(user_id, group.group_id)] = request

        self._commit([
            GuardedWrite.failing_with(FakeWrite(is_member, remove), lambda: GroupNotFound(group_id=group.group_id)),
            self._count_update(group, -1, lambda: None),
            *self._draw_check(group),
            *self._outbox(events),
        ])

    def shared_voucher_write(self, group_id: str, key_user: str, campaign_id: str, voucher_id: str,
                             on_failure: Callable[[], Exception]) -> GuardedWrite:
        def check() -> bool:
            meta = self.meta.get(group_id)
            return meta is not None and meta["owner"] == key_user and meta["campaign_id"] == campaign_id

        return GuardedWrite.failing_with(
            FakeWrite(check, lambda: self.meta[group_id].__setitem__("shared_voucher", voucher_id)), on_failure)

    def lock_for_draw(self, campaign_id: str) -> None:
        with self.lock:
            if self.draw_locks.get(campaign_id) != SETTLED:
                self.draw_locks[campaign_id] = DRAWING

    def unlock_after_draw(self, campaign_id: str) -> None:
        with self.lock:
            self.draw_locks[campaign_id] = SETTLED

    def _membership_put(self, user_id: str, campaign_id: str, group_id: str, role: Role,
                        request: str | None = None) -> GuardedWrite:
        key = (user_id, campaign_id)

        def put() -> None:
            self.memberships[key] = (group_id, role)
            self.join_requests[key] = request

        return GuardedWrite.failing_with(FakeWrite(lambda: key not in self.memberships, put),
                                         lambda: AlreadyInGroup(campaign_id=campaign_id))

    def _count_update(self, group: Group, delta: int, commit: Callable[[], None]) -> GuardedWrite:
        def check() -> bool:
            meta = self.meta.get(group.group_id)
            return (meta is not None and meta["shared_voucher"] == group.shared_voucher
                    and (delta < 0 or len(self.member_rows[group.group_id]) < MAX_MEMBERS))

        def refusal(_old: object) -> Exception:
            meta = self.meta.get(group.group_id)
            if meta is None:
                return GroupNotFound(group_id=group.group_id)
            if meta["shared_voucher"] != group.shared_voucher:
                return GroupChanged(group.group_id)
            return GroupFull(maximum=MAX_MEMBERS)

        return GuardedWrite(FakeWrite(check, commit), refusal)

    def _draw_check(self, group: Group) -> list[GuardedWrite]:
        if group.shared_voucher is None:
            return []
        return [GuardedWrite.failing_with(
            FakeWrite(lambda: self.draw_locks.get(group.campaign_id) != DRAWING, lambda: None),
            lambda: GroupLockedForDraw(group_id=group.group_id, campaign_id=group.campaign_id))]


class CampaignServices:
    """The campaign services wired to each other as ``shared.campaigns.wiring`` wires them (one campaign
    service whose cached configuration the voucher services share), behind one object, so that a scenario
    reads as the users' actions: ``services.claim(...)``, ``services.pass_on(...)``."""

    def __init__(self, store: CampaignStore, ledger: LedgerService, groups: GroupDirectory,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep, pool_shards: int = 8, holder_buckets: int = 16) -> None:
        rng = rng or random.Random()
        self.campaigns = CampaignService(store, ledger, clock=clock, pool_shards=pool_shards,
                                         holder_buckets=holder_buckets)
        self.claims = ClaimService(self.campaigns, store, clock=clock, rng=rng, sleep=sleep)
        self.passing = PassService(self.campaigns, store, clock=clock, rng=rng, sleep=sleep)
        self.key_users = KeyUserService(self.campaigns, store, groups, clock=clock, rng=rng, sleep=sleep)
        self.create = self.campaigns.create
        self.campaign = self.campaigns.campaign
        self.overview = self.campaigns.overview
        self.record_interaction = self.claims.record_interaction
        self.claim = self.claims.claim
        self.my_vouchers = self.claims.my_vouchers
        self.pass_on = self.passing.pass_on
        self.create_group = self.key_users.create_group
        self.key_user_claim = self.key_users.key_user_claim


def group_service(store: InMemoryGroupStore | None = None, clock: Callable[[], datetime] = utcnow) -> GroupService:
    """The real group rules on the in-memory store."""
    return GroupService(store or InMemoryGroupStore(), clock=clock, sleep=lambda _s: None)
