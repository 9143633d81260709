"""HTTP request/response models of the group API, mapped explicitly from entities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.groups.models import Group, Invitation
from shared.types import CampaignId, DisplayName

GroupId = Annotated[str, StringConstraints(pattern=r"^grp_[0-9a-f]{32}$")]
InviteCode = Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class CreateGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName
    campaign_id: CampaignId = Field(description="The campaign the group is created for: its creator becomes a key "
                                                "user of this campaign only (one group per user and campaign).")


class JoinGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: InviteCode


class GroupResponse(BaseModel):
    group_id: str
    name: str
    campaign_id: str = Field(description="The campaign whose key user the group's creator is.")
    key_user: str
    members: list[str]
    shared_voucher_id: str | None = Field(
        default=None, description="The group-shared voucher of the campaign, once the key user claimed it: its "
                                  "prize is split among the members snapshotted when the campaign's draw starts.")
    created_at: datetime

    @classmethod
    def of(cls, g: Group) -> GroupResponse:
        return cls(group_id=g.group_id, name=g.name, campaign_id=g.campaign_id, key_user=g.owner,
                   members=list(g.members), shared_voucher_id=g.shared_voucher, created_at=g.created_at)


class InvitationResponse(BaseModel):
    code: str
    group_id: str
    expires_at: datetime

    @classmethod
    def of(cls, i: Invitation) -> InvitationResponse:
        return cls(code=i.code, group_id=i.group_id, expires_at=i.expires_at)


class LeftResponse(BaseModel):
    group_id: str
    left: bool = True
