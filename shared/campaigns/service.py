"""Campaign business rules (SPEC §2 flows 1-4): create, interaction, pool-first claim, pass on, key-user claim.

Every voucher move is read -> decide -> one conditional write (``CampaignStore.commit_*``);
when a concurrent write wins (``StaleWrite``) the whole decision is re-made on fresh
state, with full-jitter back-off, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from shared.campaigns.errors import (
    CampaignClosed,
    CampaignNotFound,
    ClaimsPerDayExceeded,
    HeldPerKindExceeded,
    InvalidDrawTime,
    KeyUserAlreadyClaimed,
    NoInteraction,
    NotKeyUser,
    PassesPerDayExceeded,
    UnknownInteractionType,
    VoucherNotFound,
    VoucherNotHeld,
    VoucherNotTransferable,
)
from shared.campaigns.models import (
    Campaign,
    CampaignStatus,
    KindWeight,
    Limits,
    PoolEntry,
    PoolShard,
    UserState,
    Voucher,
    VoucherSource,
    VoucherStatus,
)
from shared.campaigns.ports import (
    CampaignFrozen,
    CampaignStore,
    DrawStarter,
    EventPublisher,
    GroupDirectory,
    StaleWrite,
)
from shared.clock import iso, utcnow
from shared.errors import AlreadyExists, InvalidInput, TemporarilyUnavailable
from shared.ledger.models import AccountKind
from shared.ledger.service import LedgerService, derived_transaction_id
from shared.types import Money

MAX_ATTEMPTS = 16
BASE_DELAY_S = 0.005
MAX_DELAY_S = 0.4
POOL_CANDIDATES = 8  # oldest entries read per pool query; retries pick among them to spread contention
CONFIG_CACHE_S = 60.0  # campaign configuration is immutable; status is enforced in the write, not from here


def campaign_account_id(campaign_id: str) -> str:
    return "cpa_" + campaign_id.removeprefix("cmp_")


class CampaignService:
    def __init__(
        self,
        store: CampaignStore,
        ledger: LedgerService,
        groups: GroupDirectory,
        events: EventPublisher,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_shards: int = 8,
        holder_buckets: int = 16,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.groups = groups
        self.events = events
        self.clock = clock
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.pool_shards = pool_shards
        self.holder_buckets = holder_buckets
        self._cache: dict[str, tuple[float, Campaign]] = {}
        self._cache_lock = threading.Lock()

    # --- campaigns ------------------------------------------------------------
    def create(self, admin: str, idempotency_key: str, name: str, kinds: Sequence[KindWeight], prize_pot: Money,
               draw_at: datetime, interaction_types: Iterable[str], limits: Limits) -> Campaign:
        """Create a campaign and fund its pot from settlement into its CAMPAIGN account, exactly once per key."""
        now = self.clock()
        if draw_at.tzinfo is None or draw_at <= now:
            raise InvalidDrawTime(draw_at=str(draw_at))
        names = [k.kind for k in kinds]
        if len(set(names)) != len(names):
            raise InvalidInput("Kinds must be unique.", kinds=names)
        self.ledger.check_amount(prize_pot)
        campaign_id = derived_transaction_id("cmp", admin, idempotency_key)[:36]
        existing = self.store.get_campaign(campaign_id)
        if existing:
            return existing
        account_id = campaign_account_id(campaign_id)
        self.ledger.ensure_system_account(account_id, AccountKind.CAMPAIGN, prize_pot.currency,
                                          owner=f"campaign:{campaign_id}")
        self.ledger.issue(derived_transaction_id("cfund", campaign_id), account_id, prize_pot, by=admin,
                          type="CAMPAIGN_FUNDING", note=name[:140])
        campaign = Campaign(
            campaign_id=campaign_id, name=name, kinds=tuple(kinds), prize_pot=prize_pot, account_id=account_id,
            draw_at=draw_at.astimezone(UTC), interaction_types=frozenset(interaction_types), limits=limits,
            pool_shards=self.pool_shards, holder_buckets=self.holder_buckets, created_by=admin, created_at=now,
        )
        try:
            self.store.create_campaign(campaign)
        except AlreadyExists:
            return self.campaign(campaign_id)
        self.events.publish("CampaignCreated", {"campaign_id": campaign_id, "draw_at": iso(campaign.draw_at),
                                                "prize_pot": prize_pot.model_dump(), "created_by": admin})
        return campaign

    def campaign(self, campaign_id: str) -> Campaign:
        """Fresh read (status included)."""
        campaign = self.store.get_campaign(campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id=campaign_id)
        with self._cache_lock:
            self._cache[campaign_id] = (time.monotonic(), campaign)
        return campaign

    def config(self, campaign_id: str) -> Campaign:
        """The campaign's immutable configuration, cached per container (never trust its status)."""
        with self._cache_lock:
            hit = self._cache.get(campaign_id)
        if hit and time.monotonic() - hit[0] < CONFIG_CACHE_S:
            return hit[1]
        return self.campaign(campaign_id)

    def overview(self, campaign_id: str) -> tuple[Campaign, dict[str, int], int]:
        """The campaign, its pool counts by kind, and how many vouchers were issued."""
        campaign = self.campaign(campaign_id)
        shards = self.store.get_shards(campaign)
        pool = {k: sum(s.counts.get(k, 0) for s in shards) for k in campaign.kind_names}
        return campaign, pool, sum(s.issued for s in shards)

    def start_due_draws(self, starter: DrawStarter) -> list[str]:
        """Start the draw of every OPEN campaign whose draw time has come (the scheduler calls this)."""
        started = []
        for campaign_id, index_key in self.store.due_campaigns(self.clock()):
            campaign = self.store.get_campaign(campaign_id)
            if campaign is not None and campaign.status is CampaignStatus.OPEN:
                starter.start(campaign_id, "scheduled")
                started.append(campaign_id)
            self.store.unlist_due(index_key)
        return started

    # --- flow 1: interaction ----------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_type: str, interaction_id: str) -> bool:
        """Grant one claim right per unique interaction id; a replay grants nothing (returns False)."""
        campaign = self.campaign(campaign_id)
        if campaign.status is not CampaignStatus.OPEN:
            raise CampaignClosed(campaign_id=campaign_id, status=campaign.status.value)
        if interaction_type not in campaign.interaction_types:
            raise UnknownInteractionType(interaction_type=interaction_type,
                                         accepted=sorted(campaign.interaction_types))
        granted = self.store.record_interaction(campaign_id, user_id, interaction_id, interaction_type, self.clock())
        if granted:
            self.events.publish("InteractionRecorded", {"campaign_id": campaign_id, "user_id": user_id,
                                                        "interaction_id": interaction_id,
                                                        "interaction_type": interaction_type})
        return granted

    # --- flow 3: claim -------------------------------------------------------------
    def claim(self, campaign_id: str, user_id: str) -> Voucher:
        """Use one claim right: a voucher from the pool first (a lacking kind, else the oldest), else a new one."""
        campaign = self.config(campaign_id)
        for attempt in range(MAX_ATTEMPTS):
            state, shards, _ = self.store.read_for_user(campaign, user_id, range(campaign.pool_shards))
            self._require_open(campaign, shards)
            now = self.clock()
            day = now.date().isoformat()
            if state is None or state.rights_used >= state.rights_granted:
                raise NoInteraction(campaign_id=campaign_id, rights_granted=state.rights_granted if state else 0)
            if state.claims_on(day) >= campaign.limits.claims_per_day:
                raise ClaimsPerDayExceeded(limit="claims_per_day", maximum=campaign.limits.claims_per_day, day=day)
            allowed = self._allowed_kinds(campaign, state)
            try:
                entry = self._pick_from_pool(campaign, state, shards, allowed, attempt)
            except StaleWrite:
                self._backoff(attempt)
                continue
            if entry is not None:
                voucher = Voucher(voucher_id=entry.voucher_id, campaign_id=campaign_id, kind=entry.kind,
                                  source=VoucherSource.POOL, holder=user_id, obtained_at=now, donor=entry.donor)
                gate = entry.shard
            else:
                voucher = self._new_voucher(campaign, user_id, allowed, VoucherSource.ISSUER, now)
                gate = campaign.shard_of(user_id)
            after = self._after(state, day, voucher.kind, +1, rights_used=state.rights_used + 1,
                                claims_today=state.claims_on(day) + 1)
            try:
                self.store.commit_claim(campaign, state, after, voucher, gate, entry)
            except StaleWrite:
                self._backoff(attempt)
                continue
            except CampaignFrozen:
                raise CampaignClosed(campaign_id=campaign_id) from None
            self.events.publish("VoucherClaimed", self._voucher_event(voucher))
            return voucher
        raise TemporarilyUnavailable(campaign_id=campaign_id)

    # --- flow 2: pass on -----------------------------------------------------------
    def pass_on(self, campaign_id: str, user_id: str, voucher_id: str) -> PoolEntry:
        campaign = self.config(campaign_id)
        shard = campaign.shard_of(voucher_id)
        for attempt in range(MAX_ATTEMPTS):
            state, shards, voucher = self.store.read_for_user(campaign, user_id, [shard], voucher_id=voucher_id)
            self._require_open(campaign, shards)
            if voucher is None or state is None:
                raise VoucherNotFound(voucher_id=voucher_id)
            if voucher.status is not VoucherStatus.HELD:
                raise VoucherNotHeld(voucher_id=voucher_id, status=voucher.status.value)
            if voucher.group_id:
                raise VoucherNotTransferable(voucher_id=voucher_id)
            now = self.clock()
            day = now.date().isoformat()
            if state.passes_on(day) >= campaign.limits.passes_per_day:
                raise PassesPerDayExceeded(limit="passes_per_day", maximum=campaign.limits.passes_per_day, day=day)
            after = self._after(state, day, voucher.kind, -1, passes_today=state.passes_on(day) + 1)
            entry = PoolEntry(voucher_id=voucher_id, kind=voucher.kind, shard=shard, donor=user_id, pooled_at=now)
            try:
                self.store.commit_pass(campaign, state, after, voucher, entry)
            except StaleWrite:
                self._backoff(attempt)
                continue
            except CampaignFrozen:
                raise CampaignClosed(campaign_id=campaign_id) from None
            self.events.publish("VoucherPassed", {"campaign_id": campaign_id, "voucher_id": voucher_id,
                                                  "kind": voucher.kind, "donor": user_id, "shard": shard})
            return entry
        raise TemporarilyUnavailable(campaign_id=campaign_id)

    # --- flow 4: key user ----------------------------------------------------------
    def key_user_claim(self, campaign_id: str, user_id: str) -> Voucher:
        """A group's key user gets one group-shared voucher per campaign, on request (no claim right used)."""
        campaign = self.config(campaign_id)
        group_id = self.groups.key_user_group(user_id)
        if group_id is None:
            raise NotKeyUser(campaign_id=campaign_id)
        home = campaign.shard_of(user_id)
        for attempt in range(MAX_ATTEMPTS):
            state, shards, _ = self.store.read_for_user(campaign, user_id, [home])
            self._require_open(campaign, shards)
            before = state or UserState(user_id=user_id)
            if before.key_user_claimed:
                raise KeyUserAlreadyClaimed(campaign_id=campaign_id)
            now = self.clock()
            day = now.date().isoformat()
            allowed = self._allowed_kinds(campaign, before)
            voucher = self._new_voucher(campaign, user_id, allowed, VoucherSource.KEY_USER, now, group_id)
            after = self._after(before, day, voucher.kind, +1, key_user_claimed=True)
            try:
                self.store.commit_claim(campaign, before, after, voucher, home, None)
            except StaleWrite:
                self._backoff(attempt)
                continue
            except CampaignFrozen:
                raise CampaignClosed(campaign_id=campaign_id) from None
            self.events.publish("KeyUserVoucherClaimed", self._voucher_event(voucher))
            return voucher
        raise TemporarilyUnavailable(campaign_id=campaign_id)

    def my_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]:
        self.config(campaign_id)
        return self.store.list_vouchers(campaign_id, user_id)

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def _require_open(campaign: Campaign, shards: list[PoolShard]) -> None:
        closed = [s for s in shards if s.status is not CampaignStatus.OPEN]
        if closed or not shards:
            raise CampaignClosed(campaign_id=campaign.campaign_id)

    @staticmethod
    def _allowed_kinds(campaign: Campaign, state: UserState) -> list[str]:
        cap = campaign.limits.held_per_kind
        allowed = [k for k in campaign.kind_names if cap is None or state.held.get(k, 0) < cap]
        if not allowed:
            raise HeldPerKindExceeded(limit="held_per_kind", maximum=cap)
        return allowed

    def _pick_from_pool(self, campaign: Campaign, state: UserState, shards: list[PoolShard], allowed: list[str],
                        attempt: int) -> PoolEntry | None:
        """A kind the user lacks if the pool has one, else the oldest pooled voucher of a kind they may hold.

        The shard is chosen at random among those that have what is wanted, so concurrent claimers spread over
        the pool's partitions; on a retry the entry is chosen among the oldest few for the same reason."""
        lacking = [k for k in allowed if state.held.get(k, 0) == 0]
        for wanted, any_kind in ((lacking, False), (allowed, True)):
            having = [s for s in shards if any(s.counts.get(k, 0) > 0 for k in wanted)]
            if not having:
                continue
            shard = self.rng.choice(having)
            present = [k for k in wanted if shard.counts.get(k, 0) > 0]
            if any_kind:
                candidates = [e for e in self.store.pool_candidates(campaign, shard.shard, None, POOL_CANDIDATES)
                              if e.kind in allowed]
            else:
                candidates = []
            if not candidates:
                kind = self.rng.choice(present)
                candidates = self.store.pool_candidates(campaign, shard.shard, kind, POOL_CANDIDATES)
            if not candidates:
                raise StaleWrite("pool shard emptied since it was read")
            return candidates[0] if attempt == 0 else self.rng.choice(candidates)
        return None

    def _new_voucher(self, campaign: Campaign, user_id: str, allowed: list[str], source: VoucherSource,
                     now: datetime, group_id: str | None = None) -> Voucher:
        weights = {k.kind: k.weight for k in campaign.kinds}
        kind = self.rng.choices(allowed, weights=[weights[k] for k in allowed])[0]
        return Voucher(voucher_id=f"v_{uuid.uuid4().hex}", campaign_id=campaign.campaign_id, kind=kind,
                       source=source, holder=user_id, obtained_at=now, group_id=group_id)

    @staticmethod
    def _after(state: UserState, day: str, kind: str, delta: int, **changes: object) -> UserState:
        held = dict(state.held)
        held[kind] = held.get(kind, 0) + delta
        update: dict[str, object] = {
            "version": state.version + 1, "day": day, "held": held,
            "claims_today": state.claims_on(day), "passes_today": state.passes_on(day),
        }
        update.update(changes)
        return state.model_copy(update=update)

    def _backoff(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)))

    @staticmethod
    def _voucher_event(v: Voucher) -> dict[str, object]:
        return {"campaign_id": v.campaign_id, "voucher_id": v.voucher_id, "kind": v.kind, "source": v.source.value,
                "holder": v.holder, "donor": v.donor, "group_id": v.group_id}
