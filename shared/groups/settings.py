"""Typed settings of the group functions (environment from template.yaml's ``CampaignEnv`` anchor)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseSettings


class GroupSettings(BaseSettings):
    groups_table: str = Field(min_length=1)
