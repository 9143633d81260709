"""HTTP request/response models of the campaign API and the draw steps, mapped explicitly from entities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from shared.campaigns.models import Campaign, DrawSet, DrawTally, Payment, PoolEntry, Voucher
from shared.types import CampaignId, DisplayName, Money, UserId

Kind = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]
InteractionType = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
InteractionId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
VoucherId = Annotated[str, StringConstraints(pattern=r"^v_[0-9a-f]{32}$")]


class KindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    weight: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claims_per_day: Annotated[StrictInt, Field(ge=1, le=10_000)] = 20
    passes_per_day: Annotated[StrictInt, Field(ge=1, le=10_000)] = 10
    held_per_kind: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None


class CreateCampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName
    kinds: list[KindIn] = Field(min_length=2, max_length=20)
    prize_pot: Money
    draw_at: AwareDatetime
    interaction_types: list[InteractionType] = Field(min_length=1, max_length=20)
    limits: LimitsIn = Field(default_factory=LimitsIn)


class CampaignResponse(BaseModel):
    campaign_id: str
    name: str
    status: str
    kinds: list[KindIn]
    prize_pot: Money
    account_id: str
    draw_at: datetime
    interaction_types: list[str]
    limits: LimitsIn
    pool: dict[str, int] = Field(default_factory=dict, description="Pooled vouchers by kind.")
    issued: int | None = None

    @classmethod
    def of(cls, c: Campaign, pool: dict[str, int] | None = None, issued: int | None = None) -> CampaignResponse:
        return cls(campaign_id=c.campaign_id, name=c.name, status=c.status.value,
                   kinds=[KindIn(kind=k.kind, weight=k.weight) for k in c.kinds], prize_pot=c.prize_pot,
                   account_id=c.account_id, draw_at=c.draw_at, interaction_types=sorted(c.interaction_types),
                   limits=LimitsIn(**c.limits.model_dump()), pool=pool or {k: 0 for k in c.kind_names},
                   issued=issued)


class InteractionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    interaction_type: InteractionType
    interaction_id: InteractionId


class InteractionResponse(BaseModel):
    campaign_id: str
    user_id: str
    interaction_id: str
    granted: bool = Field(description="False when this interaction id was already recorded (nothing granted).")


class VoucherResponse(BaseModel):
    voucher_id: str
    kind: str
    status: str
    source: str
    obtained_at: datetime
    donor: str | None = None
    group_id: str | None = None

    @classmethod
    def of(cls, v: Voucher) -> VoucherResponse:
        return cls(voucher_id=v.voucher_id, kind=v.kind, status=v.status.value, source=v.source.value,
                   obtained_at=v.obtained_at, donor=v.donor, group_id=v.group_id)


class VoucherList(BaseModel):
    items: list[VoucherResponse]


class ClaimResponse(BaseModel):
    voucher: VoucherResponse
    source: str


class PassResponse(BaseModel):
    voucher_id: str
    status: str = "POOLED"
    kind: str
    pooled_at: datetime

    @classmethod
    def of(cls, e: PoolEntry) -> PassResponse:
        return cls(voucher_id=e.voucher_id, kind=e.kind, pooled_at=e.pooled_at)


class DrawStarted(BaseModel):
    campaign_id: str
    execution_arn: str
    status: str


class SetResponse(BaseModel):
    set_id: str
    voucher_ids: list[str]
    group_id: str | None = None

    @classmethod
    def of(cls, s: DrawSet) -> SetResponse:
        return cls(set_id=s.set_id, voucher_ids=list(s.voucher_ids), group_id=s.group_id)


class PaymentResponse(BaseModel):
    transaction_id: str
    set_id: str
    amount: Money
    group_id: str | None = None

    @classmethod
    def of(cls, p: Payment) -> PaymentResponse:
        return cls(transaction_id=p.transaction_id, set_id=p.set_id, amount=p.amount, group_id=p.group_id)


class ResultsResponse(BaseModel):
    campaign_id: str
    status: str
    total_sets: int | None = None
    share: Money | None = None
    sets: list[SetResponse]
    payments: list[PaymentResponse]

    @classmethod
    def of(cls, c: Campaign, tally: DrawTally | None, sets: list[DrawSet], payments: list[Payment]) -> ResultsResponse:
        share = Money(amount=tally.share, currency=c.prize_pot.currency) if tally and tally.share else None
        return cls(campaign_id=c.campaign_id, status=c.status.value, total_sets=tally.total_sets if tally else None,
                   share=share, sets=[SetResponse.of(s) for s in sets],
                   payments=[PaymentResponse.of(p) for p in payments])


class DrawStepInput(BaseModel):
    """What the CampaignDraw state machine passes to each step."""

    campaign_id: CampaignId
    bucket: Annotated[StrictInt, Field(ge=0, le=4095)] | None = None

    def required_bucket(self) -> int:
        if self.bucket is None:
            raise ValueError("this step needs a bucket")
        return self.bucket


class InteractionDetail(BaseModel):
    campaign_id: CampaignId
    user_id: UserId
    interaction_type: InteractionType
    interaction_id: InteractionId


class InteractionCompletedEvent(BaseModel):
    """The EventBridge envelope (only the fields used)."""

    source: str
    detail_type: str = Field(alias="detail-type", pattern="^InteractionCompleted$")
    detail: InteractionDetail
