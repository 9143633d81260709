"""Domain entities of the campaign capability (not HTTP shapes, not DynamoDB items)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import iso
from shared.outbox import OutboxEvent, domain_event
from shared.types import Money

EVENT_SOURCE = "wallet.campaigns"


def campaign_event(detail_type: str, detail: dict[str, object], at: datetime, *identity: str) -> OutboxEvent:
    """A campaign event (source ``wallet.campaigns``) for the outbox: the store writes it in the change's own
    transaction, the Campaigns table's stream publishes it (``shared/outbox.py``). ``identity``: the change's
    ids, so a replayed change names the same event."""
    return domain_event(EVENT_SOURCE, detail_type, detail, at, *identity)


class CampaignStatus(StrEnum):
    OPEN = "OPEN"  # vouchers move: interact, claim, pass, key-user claim
    DRAWING = "DRAWING"  # frozen by the draw: nothing moves any more
    SETTLED = "SETTLED"  # every share paid


class VoucherStatus(StrEnum):
    HELD = "HELD"
    CONSUMED = "CONSUMED"


class VoucherSource(StrEnum):
    ISSUER = "ISSUER"  # newly issued by the campaign's weights
    POOL = "POOL"  # taken from the shared pool (passed on by another user)
    KEY_USER = "KEY_USER"  # the key user's voucher; group-shared at the draw


class KindWeight(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    weight: int


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    claims_per_day: int = 20
    passes_per_day: int = 10
    held_per_kind: int | None = None  # None: no cap on vouchers held per kind


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    name: str
    kinds: tuple[KindWeight, ...]
    prize_pot: Money
    account_id: str  # the CAMPAIGN ledger account holding the pot
    draw_at: datetime
    interaction_types: frozenset[str]
    limits: Limits
    status: CampaignStatus = CampaignStatus.OPEN
    pool_shards: int = 8
    holder_buckets: int = 16
    created_by: str
    created_at: datetime

    @property
    def kind_names(self) -> list[str]:
        return [k.kind for k in self.kinds]

    def shard_of(self, key: str) -> int:
        return stable_bucket(key, self.pool_shards)

    def bucket_of(self, user_id: str) -> int:
        return stable_bucket(user_id, self.holder_buckets)


def stable_bucket(key: str, n: int) -> int:
    """A stable hash bucket (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % n


class PoolShard(BaseModel):
    """One partition of the shared pool: its gate status, how many vouchers of each kind it holds and the age
    (``PoolEntry.age``) of its oldest voucher of each kind.

    ``oldest`` is a hint kept by the moves that change the shard (a pass sets it when the kind was empty, a claim
    sets it to the oldest voucher it saw left behind): concurrent claims can leave it pointing at a voucher
    another claim took, and the next claim from the shard corrects it. Claims use it to go to the shard with the
    oldest voucher; the conditional delete of the pool entry stays the truth."""

    model_config = ConfigDict(frozen=True)

    shard: int
    status: CampaignStatus
    counts: dict[str, int] = Field(default_factory=dict)
    issued: int = 0
    oldest: dict[str, str] = Field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(self.counts.values())


class UserState(BaseModel):
    """One user's standing in one campaign; every change is a version-checked write."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    version: int = 0
    rights_granted: int = 0
    rights_used: int = 0
    day: str = ""  # UTC date of the counters below
    claims_today: int = 0
    passes_today: int = 0
    held: dict[str, int] = Field(default_factory=dict)  # HELD vouchers per kind
    key_user_claimed: bool = False
    sets: int = 0  # complete sets consumed by the draw
    # the user's last claim: its request (a digest of the Idempotency-Key) and the voucher it took, written in the
    # claim's own transaction, so a retry of that request after a crash finds its voucher instead of claiming again
    last_claim_request: str = ""
    last_claim_voucher: str = ""
    # the user's last pass: its request (``shared.api.idempotency.request_tag``) and the voucher it passed on, written
    # in the pass's own transaction, so a retry of that request after a crash answers that pass again
    last_pass_request: str = ""
    last_pass_voucher: str = ""

    def claims_on(self, day: str) -> int:
        return self.claims_today if self.day == day else 0

    def passes_on(self, day: str) -> int:
        return self.passes_today if self.day == day else 0


class Voucher(BaseModel):
    model_config = ConfigDict(frozen=True)

    voucher_id: str
    campaign_id: str
    kind: str
    status: VoucherStatus = VoucherStatus.HELD
    source: VoucherSource
    holder: str
    obtained_at: datetime
    donor: str | None = None  # who passed it on (source POOL)
    group_id: str | None = None  # group-shared voucher (key-user vouchers)


class PoolEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    voucher_id: str
    kind: str
    shard: int
    donor: str
    pooled_at: datetime
    group_id: str | None = None

    @property
    def age(self) -> str:
        """Sorts like the entry's age (oldest first): the pooled time, then the voucher id."""
        return f"{iso(self.pooled_at)}#{self.voucher_id}"


class DrawSet(BaseModel):
    """One complete set consumed by the draw: one voucher of each kind, won by ``user_id``."""

    model_config = ConfigDict(frozen=True)

    set_id: str
    campaign_id: str
    user_id: str
    voucher_ids: tuple[str, ...]
    group_id: str | None = None  # when any voucher of the set is group-shared


class Payment(BaseModel):
    model_config = ConfigDict(frozen=True)

    transaction_id: str
    set_id: str
    payee: str
    amount: Money
    group_id: str | None = None


class DrawTally(BaseModel):
    """Fixed once per campaign: how the pot is split (re-runs reuse it)."""

    model_config = ConfigDict(frozen=True)

    total_sets: int
    share: int  # minor units per set
    remainder: int  # pot - share * total_sets (stays in the campaign account)


class PotStatement(BaseModel):
    """What a campaign's pot accounts (the pot and its payout buckets) hold together, by the campaign's records."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    account_ids: tuple[str, ...]
    prize_pot: Money
    paid: int  # prizes paid, recorded with each payment's transfer

    @property
    def expected(self) -> int:
        return self.prize_pot.amount - self.paid
