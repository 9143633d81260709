"""Domain entities of groups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    KEY_USER = "KEY_USER"  # created the group: a key user of the group's campaign
    MEMBER = "MEMBER"


class Group(BaseModel):
    """A user-relationship group in one campaign's context."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    name: str
    owner: str  # the creator: the group's key user, in its campaign only
    campaign_id: str
    created_at: datetime
    members: tuple[str, ...] = ()
    shared_voucher: str | None = None  # the group-shared voucher of its campaign, once the key user claimed it


class Invitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    group_id: str
    created_by: str
    expires_at: datetime
