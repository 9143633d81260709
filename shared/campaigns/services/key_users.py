"""Groups and key users (SPEC §2 flow 4), per campaign: a user who creates a group in a campaign's context is a
key user *of that campaign* and gets one group-shared voucher of it on request.

A group belongs to the campaign it was created for (``POST /groups {name, campaign_id}``); a user holds at most one
group per campaign. A group created for another campaign, or before this campaign existed, makes nobody a key
user of this one.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from datetime import datetime

from shared.campaigns.errors import CampaignClosed, KeyUserAlreadyClaimed, NotKeyUser
from shared.campaigns.models import CampaignStatus, UserState, Voucher, VoucherSource
from shared.campaigns.ports import CampaignStore, GroupDirectory
from shared.campaigns.services.campaigns import CampaignService
from shared.campaigns.services.moves import MAX_ATTEMPTS, RETRY, VoucherMoves
from shared.clock import utcnow
from shared.errors import TemporarilyUnavailable
from shared.groups.models import Group


class KeyUserService(VoucherMoves):
    def __init__(
        self,
        campaigns: CampaignService,
        store: CampaignStore,
        groups: GroupDirectory,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(campaigns, store, clock=clock, rng=rng, sleep=sleep)
        self.groups = groups

    def create_group(self, campaign_id: str, owner: str, name: str, request: str | None = None) -> Group:
        """A group in the context of an OPEN campaign; its creator becomes a key user of that campaign only.
        ``request``: the request's tag (``shared.api.idempotency.request_tag``; see ``GroupService.create``)."""
        campaign = self.campaigns.campaign(campaign_id)  # fresh: the status decides
        if campaign.status is not CampaignStatus.OPEN:
            raise CampaignClosed(campaign_id=campaign_id, status=campaign.status.value)
        return self.groups.create(owner, name, campaign_id, request)

    def key_user_claim(self, campaign_id: str, user_id: str, request: str | None = None) -> Voucher:
        """One group-shared voucher per campaign for a key user of that campaign, on request (no claim right used).

        The claim commits with the group's record of the voucher, on condition that the caller created the group
        in this campaign: from then on the group's membership is what the draw will snapshot.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``); the voucher's id derives from it,
        so the same request retried after a crash past its commit answers the voucher it claimed (another request:
        ``KeyUserAlreadyClaimed``)."""
        campaign = self.campaigns.config(campaign_id)
        group_id = self.groups.key_user_group(user_id, campaign_id)
        if group_id is None:
            raise NotKeyUser(campaign_id=campaign_id)
        home = campaign.shard_of(user_id)
        for attempt in range(MAX_ATTEMPTS):
            state, shards, _ = self.store.read_for_user(campaign, user_id, [home])
            self._require_open(campaign, shards)
            before = state or UserState(user_id=user_id)
            voucher_id = _voucher_id(campaign_id, request)
            if before.key_user_claimed:
                mine = [v for v in self.store.list_vouchers(campaign_id, user_id)
                        if request and v.voucher_id == voucher_id]
                if mine:
                    return mine[0]  # this request claimed it; its answer was lost
                raise KeyUserAlreadyClaimed(campaign_id=campaign_id)
            now = self.clock()
            day = now.date().isoformat()
            allowed = self._allowed_kinds(campaign, before)
            voucher = self._new_voucher(campaign, user_id, allowed, VoucherSource.KEY_USER, now, group_id)
            if voucher_id is not None:
                voucher = voucher.model_copy(update={"voucher_id": voucher_id})
            after = self._after(before, day, voucher.kind, +1, key_user_claimed=True)
            shared = self.groups.shared_voucher_write(group_id, user_id, campaign_id, voucher.voucher_id,
                                                      on_failure=lambda: NotKeyUser(campaign_id=campaign_id))
            try:
                self.store.commit_claim(campaign, before, after, voucher, home, None, writes=[shared],
                                        events=[self._voucher_event("KeyUserVoucherClaimed", voucher)])
            except RETRY:
                self._backoff(attempt)
                continue
            return voucher
        raise TemporarilyUnavailable(campaign_id=campaign_id)


def _voucher_id(campaign_id: str, request: str | None) -> str | None:
    """The key-user voucher's id derived from (campaign, request tag): ``v_`` + 32 hex, like a random one."""
    if not request:
        return None
    return "v_" + hashlib.sha256(f"{campaign_id}\x1fkey-user\x1f{request}".encode()).hexdigest()[:32]
