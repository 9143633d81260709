"""What every voucher move shares (claims, passing on, key-user claims).

Every voucher move is read -> decide -> one conditional write (``CampaignStore.commit_*``);
when a concurrent write wins (``StaleWrite``: the store names the race that was lost) or the
write met contention (``ConflictingWrite``), the whole decision is re-made on fresh state, with
full-jitter back-off, at most ``MAX_ATTEMPTS`` times; then ``TemporarilyUnavailable`` (503).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from shared.campaigns.errors import CampaignClosed, HeldPerKindExceeded
from shared.campaigns.models import (
    Campaign,
    CampaignStatus,
    PoolShard,
    UserState,
    Voucher,
    VoucherSource,
    campaign_event,
)
from shared.campaigns.ports import CampaignStore, ConflictingWrite, StaleWrite
from shared.campaigns.services.campaigns import CampaignService
from shared.clock import iso, utcnow
from shared.outbox import OutboxEvent

MAX_ATTEMPTS = 16
BASE_DELAY_S = 0.005
MAX_DELAY_S = 0.4
RETRY = (StaleWrite, ConflictingWrite)  # lost a race or met contention: re-read, re-decide


class VoucherMoves:
    """Base of the services that move vouchers: the campaign's cached configuration, the rules every move
    checks, and the back-off between attempts."""

    def __init__(
        self,
        campaigns: CampaignService,
        store: CampaignStore,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.campaigns = campaigns
        self.store = store
        self.clock = clock
        self.rng = rng or random.Random()
        self.sleep = sleep

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
    def _voucher_event(detail_type: str, v: Voucher) -> OutboxEvent:
        """The event of a voucher obtained (claimed or key-user claimed), named by who obtained it when."""
        return campaign_event(detail_type, {"campaign_id": v.campaign_id, "voucher_id": v.voucher_id,
                                            "kind": v.kind, "source": v.source.value, "holder": v.holder,
                                            "donor": v.donor, "group_id": v.group_id},
                              v.obtained_at, v.campaign_id, v.voucher_id, v.holder, iso(v.obtained_at))
