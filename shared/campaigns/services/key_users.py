"""The key user's voucher (SPEC §2 flow 4): a group's creator gets one group-shared voucher per campaign."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

from shared.campaigns.errors import CampaignClosed, KeyUserAlreadyClaimed, NotKeyUser
from shared.campaigns.models import UserState, Voucher, VoucherSource
from shared.campaigns.ports import CampaignFrozen, CampaignStore, EventPublisher, GroupDirectory, StaleWrite
from shared.campaigns.services.campaigns import CampaignService
from shared.campaigns.services.moves import MAX_ATTEMPTS, VoucherMoves
from shared.clock import utcnow
from shared.errors import TemporarilyUnavailable


class KeyUserService(VoucherMoves):
    def __init__(
        self,
        campaigns: CampaignService,
        store: CampaignStore,
        groups: GroupDirectory,
        events: EventPublisher,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(campaigns, store, events, clock=clock, rng=rng, sleep=sleep)
        self.groups = groups

    def key_user_claim(self, campaign_id: str, user_id: str) -> Voucher:
        """One group-shared voucher per campaign for a group's key user, on request (no claim right used)."""
        campaign = self.campaigns.config(campaign_id)
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
