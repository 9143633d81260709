"""Domain entities of groups."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Group(BaseModel):
    model_config = ConfigDict(frozen=True)

    group_id: str
    name: str
    owner: str  # the creator: the group's key user
    created_at: datetime
    members: tuple[str, ...] = ()


class Invitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    group_id: str
    created_by: str
    expires_at: datetime
