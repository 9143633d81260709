"""Claim rights and claims (SPEC §2 flows 1 and 3): an interaction grants one claim right; a claim uses one,
taking a voucher from the pool first (a kind the user lacks, else the oldest), else issuing a new one.

Pool preference, as closely as the sharding allows (docs/decision_log.md, issue 9 item 12):

1. the kinds the claimant lacks come first; among them the one with the most vouchers in the pool (ties: the
   campaign's kind order), so the choice is deterministic;
2. when the pool has no kind they lack, the kind whose oldest pooled voucher is the oldest;
3. then the oldest voucher of that kind across the shards: each shard item (read by every claim anyway)
   records the age of its oldest voucher per kind, the claim goes to the shard with the oldest and takes that
   shard's oldest entry of the kind. Under contention a retry may take the next oldest: one of the 2, 4, then 8
   oldest shards of the kind and of their oldest entries, so racing claimers part instead of colliding again;
   a retry after losing only the pooled entry chooses again from what it read, without reading it again.
"""

from __future__ import annotations

import hashlib

from shared.campaigns.errors import (
    CampaignClosed,
    ClaimsPerDayExceeded,
    NoInteraction,
    UnknownInteractionType,
)
from shared.campaigns.models import (
    Campaign,
    CampaignStatus,
    PoolEntry,
    PoolShard,
    UserState,
    Voucher,
    VoucherSource,
    campaign_event,
)
from shared.campaigns.ports import PoolEntryTaken
from shared.campaigns.services.moves import MAX_ATTEMPTS, RETRY, VoucherMoves
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
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock()
            recorded = campaign_event("InteractionRecorded", {"campaign_id": campaign_id, "user_id": user_id,
                                                              "interaction_id": interaction_id,
                                                              "interaction_type": interaction_type},
                                      now, campaign_id, interaction_id)
            try:
                granted = self.store.record_interaction(campaign_id, user_id, interaction_id, interaction_type,
                                                        now, events=[recorded])
                break
            except RETRY:  # contention on the user's state (a claim of theirs committing): the put-once decides
                self._backoff(attempt)
        else:
            raise TemporarilyUnavailable(campaign_id=campaign_id)
        return granted

    # --- flow 3: claim -------------------------------------------------------------
    def claim(self, campaign_id: str, user_id: str, request: str = "") -> Voucher:
        """Use one claim right: a voucher from the pool first (a lacking kind, else the oldest), else a new one.

        ``request`` identifies the client's request (a digest of its Idempotency-Key): it is recorded with the
        claim, and the same request again (a retry after a crash between the commit and the idempotency record's
        completion) returns the voucher it took instead of using another right."""
        request = hashlib.sha256(request.encode()).hexdigest()[:32] if request else ""
        campaign = self.campaigns.config(campaign_id)
        kept: tuple[UserState | None, list[PoolShard]] | None = None  # what a lost pooled entry leaves valid
        for attempt in range(MAX_ATTEMPTS):
            if kept is None:
                state, shards, _ = self.store.read_for_user(campaign, user_id, range(campaign.pool_shards))
            else:
                (state, shards), kept = kept, None
            replayed = self._replayed(campaign_id, user_id, state, request)
            if replayed is not None:
                return replayed
            self._require_open(campaign, shards)
            now = self.clock()
            day = now.date().isoformat()
            if state is None or state.rights_used >= state.rights_granted:
                raise NoInteraction(campaign_id=campaign_id, rights_granted=state.rights_granted if state else 0)
            if state.claims_on(day) >= campaign.limits.claims_per_day:
                raise ClaimsPerDayExceeded(limit="claims_per_day", maximum=campaign.limits.claims_per_day, day=day)
            allowed = self._allowed_kinds(campaign, state)
            try:
                picked = self._pick_from_pool(campaign, state, shards, allowed, attempt)
            except RETRY:
                self._backoff(attempt)
                continue
            entry, next_oldest = picked if picked is not None else (None, None)
            if entry is not None:
                voucher = Voucher(voucher_id=entry.voucher_id, campaign_id=campaign_id, kind=entry.kind,
                                  source=VoucherSource.POOL, holder=user_id, obtained_at=now, donor=entry.donor)
                gate = entry.shard
            else:
                voucher = self._new_voucher(campaign, user_id, allowed, VoucherSource.ISSUER, now)
                gate = campaign.shard_of(user_id)
            after = self._after(state, day, voucher.kind, +1, rights_used=state.rights_used + 1,
                                claims_today=state.claims_on(day) + 1, last_claim_request=request,
                                last_claim_voucher=voucher.voucher_id)
            try:
                self.store.commit_claim(campaign, state, after, voucher, gate, entry, next_oldest,
                                        events=[self._voucher_event("VoucherClaimed", voucher)])
            except PoolEntryTaken:
                # Another claim took the entry; the gate and the state passed (their errors come first): choose
                # again from what was read, without reading it again. Counts and ages are hints, and the next
                # commit checks the state and the gate again.
                kept = (state, shards)
                self._backoff(attempt)
                continue
            except RETRY:
                self._backoff(attempt)
                continue
            return voucher
        raise TemporarilyUnavailable(campaign_id=campaign_id)

    def _replayed(self, campaign_id: str, user_id: str, state: UserState | None, request: str) -> Voucher | None:
        """The voucher this request already claimed (it committed; its answer was lost), if it still holds it."""
        if not request or state is None or state.last_claim_request != request:
            return None
        return next((v for v in self.store.list_vouchers(campaign_id, user_id)
                     if v.voucher_id == state.last_claim_voucher), None)

    def my_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]:
        self.campaigns.config(campaign_id)
        return self.store.list_vouchers(campaign_id, user_id)

    def _pick_from_pool(self, campaign: Campaign, state: UserState, shards: list[PoolShard], allowed: list[str],
                        attempt: int) -> tuple[PoolEntry, str | None] | None:
        """The pooled voucher to take (the module's rules) and the age of the oldest voucher of its kind that the
        shard keeps after it (the shard's new ``oldest`` hint; None when it keeps none); None when the pool has
        nothing the user may hold."""
        pooled = {k: sum(s.counts.get(k, 0) for s in shards) for k in allowed}
        present = [k for k in allowed if pooled[k] > 0]
        if not present:
            return None
        order = {k: i for i, k in enumerate(campaign.kind_names)}
        lacking = [k for k in present if state.held.get(k, 0) == 0]
        if lacking:
            kind = min(lacking, key=lambda k: (-pooled[k], order[k]))
        else:
            kind = min(present, key=lambda k: (_oldest_of(k, shards), order[k]))
        having = sorted((s for s in shards if s.counts.get(kind, 0) > 0),
                        key=lambda s: (s.oldest.get(kind) or _UNKNOWN_AGE, s.shard))
        spread = 2 ** min(attempt, 3)  # 1, 2, 4, then 8 oldest: racing claimers part quickly
        shard = self.rng.choice(having[:spread])
        candidates = self.store.pool_candidates(campaign, shard.shard, kind, POOL_CANDIDATES)
        if not candidates:
            raise PoolEntryTaken(f"shard {shard.shard} has no {kind} left")
        index = self.rng.randrange(min(len(candidates), spread))
        left = candidates[:index] + candidates[index + 1:]
        return candidates[index], (left[0].age if left else None)


_UNKNOWN_AGE = "~"  # sorts after every recorded age: a shard whose oldest is not recorded comes last


def _oldest_of(kind: str, shards: list[PoolShard]) -> str:
    return min((s.oldest.get(kind) or _UNKNOWN_AGE for s in shards if s.counts.get(kind, 0) > 0),
               default=_UNKNOWN_AGE)
