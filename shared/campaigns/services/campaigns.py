"""The campaign itself (SPEC §2): create and fund it, read it, and start its draw (now or when due)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from shared.campaigns.errors import CampaignNotFound, InvalidDrawTime
from shared.campaigns.models import Campaign, CampaignStatus, KindWeight, Limits, PotStatement, campaign_event
from shared.campaigns.ports import CampaignStore, DrawStarter
from shared.clock import iso, utcnow
from shared.errors import AlreadyExists, InvalidInput
from shared.ledger.models import CAMPAIGN_ONLY, AccountKind
from shared.ledger.service import LedgerService, derived_transaction_id
from shared.types import Money

CONFIG_CACHE_S = 60.0  # campaign configuration is immutable; status is enforced in the write, not from here


_POT_ACCOUNT = re.compile(r"^cpa_([0-9a-f]{32})(?:_b\d+)?$")


def campaign_account_id(campaign_id: str) -> str:
    return "cpa_" + campaign_id.removeprefix("cmp_")


def bucket_account_id(campaign: Campaign, bucket: int) -> str:
    """The payout account of one holder bucket (the draw moves each bucket's payouts there first)."""
    return f"{campaign.account_id}_b{bucket}"


def campaign_id_for_account(account_id: str) -> str | None:
    """The campaign whose pot (or payout bucket) ``account_id`` is, from the ids this module gives them."""
    match = _POT_ACCOUNT.match(account_id)
    return f"cmp_{match.group(1)}" if match else None


class CampaignService:
    def __init__(
        self,
        store: CampaignStore,
        ledger: LedgerService,
        clock: Callable[[], datetime] = utcnow,
        pool_shards: int = 8,
        holder_buckets: int = 16,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.pool_shards = pool_shards
        self.holder_buckets = holder_buckets
        self._cache: dict[str, tuple[float, Campaign]] = {}
        self._cache_lock = threading.Lock()

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
                          type="CAMPAIGN_FUNDING", note=name[:140], credit_kinds=CAMPAIGN_ONLY)
        campaign = Campaign(
            campaign_id=campaign_id, name=name, kinds=tuple(kinds), prize_pot=prize_pot, account_id=account_id,
            draw_at=draw_at.astimezone(UTC), interaction_types=frozenset(interaction_types), limits=limits,
            pool_shards=self.pool_shards, holder_buckets=self.holder_buckets, created_by=admin, created_at=now,
        )
        created = campaign_event("CampaignCreated", {"campaign_id": campaign_id, "draw_at": iso(campaign.draw_at),
                                                     "prize_pot": prize_pot.model_dump(), "created_by": admin},
                                 now, campaign_id)
        try:
            self.store.create_campaign(campaign, events=[created])
        except AlreadyExists:
            return self.campaign(campaign_id)
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

    def pot_statement(self, campaign_id: str) -> PotStatement | None:
        """What the campaign's pot accounts must hold together: the recorded prize pot minus the prizes paid
        (``None`` when no such campaign is recorded). Reconciliation compares it with the ledger."""
        campaign = self.store.get_campaign(campaign_id)
        if campaign is None:
            return None
        accounts = (campaign.account_id, *(bucket_account_id(campaign, b) for b in range(campaign.holder_buckets)))
        return PotStatement(campaign_id=campaign_id, account_ids=accounts, prize_pot=campaign.prize_pot,
                            paid=self.store.paid_total(campaign))

    def overview(self, campaign_id: str) -> tuple[Campaign, dict[str, int], int]:
        """The campaign, its pool counts by kind, and how many vouchers were issued."""
        campaign = self.campaign(campaign_id)
        shards = self.store.get_shards(campaign)
        pool = {k: sum(s.counts.get(k, 0) for s in shards) for k in campaign.kind_names}
        return campaign, pool, sum(s.issued for s in shards)

    def start_draw(self, campaign_id: str, starter: DrawStarter) -> tuple[Campaign, str]:
        """Start (or re-run) the campaign's draw now: the campaign as read before the start, and the execution."""
        campaign = self.campaign(campaign_id)
        return campaign, starter.start(campaign_id, "api")

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
