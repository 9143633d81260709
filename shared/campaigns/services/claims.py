"""Claim rights and claims (SPEC §2 flows 1 and 3): an interaction grants one claim right; a claim uses one,
taking a voucher from the pool first (a kind the user lacks, else the oldest), else issuing a new one."""

from __future__ import annotations

from shared.campaigns.errors import (
    CampaignClosed,
    ClaimsPerDayExceeded,
    NoInteraction,
    UnknownInteractionType,
)
from shared.campaigns.models import Campaign, CampaignStatus, PoolEntry, PoolShard, UserState, Voucher, VoucherSource
from shared.campaigns.ports import CampaignFrozen, StaleWrite
from shared.campaigns.services.moves import MAX_ATTEMPTS, VoucherMoves
from shared.errors import TemporarilyUnavailable

POOL_CANDIDATES = 8  # oldest entries read per pool query; retries pick among them to spread contention


class ClaimService(VoucherMoves):
    # --- flow 1: interaction ----------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_type: str, interaction_id: str) -> bool:
        """Grant one claim right per unique interaction id; a replay grants nothing (returns False)."""
        campaign = self.campaigns.campaign(campaign_id)
        if campaign.status is not CampaignStatus.OPEN:
            raise CampaignClosed(campaign_id=campaign_id, status=campaign.status.value)
        if interaction_type not in campaign.interaction_types:
            raise UnknownInteractionType(interaction_type=interaction_type,
                                         accepted=sorted(campaign.interaction_types))
        for attempt in range(MAX_ATTEMPTS):  # contention or throttling: the put-once makes a retry safe
            try:
                granted = self.store.record_interaction(campaign_id, user_id, interaction_id, interaction_type,
                                                        self.clock())
                break
            except StaleWrite:
                self._backoff(attempt)
        else:
            raise TemporarilyUnavailable(campaign_id=campaign_id)
        if granted:
            self.events.publish("InteractionRecorded", {"campaign_id": campaign_id, "user_id": user_id,
                                                        "interaction_id": interaction_id,
                                                        "interaction_type": interaction_type})
        return granted

    # --- flow 3: claim -------------------------------------------------------------
    def claim(self, campaign_id: str, user_id: str) -> Voucher:
        """Use one claim right: a voucher from the pool first (a lacking kind, else the oldest), else a new one."""
        campaign = self.campaigns.config(campaign_id)
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

    def my_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]:
        self.campaigns.config(campaign_id)
        return self.store.list_vouchers(campaign_id, user_id)

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
