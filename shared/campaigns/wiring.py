"""Builds the campaign and group services once per container from the function's settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from shared import settings as config
from shared.campaigns.draw import DrawService
from shared.campaigns.events import EventBridgePublisher
from shared.campaigns.repository import DynamoCampaignStore
from shared.campaigns.service import CampaignService
from shared.campaigns.starter import StepFunctionsDrawStarter
from shared.groups.repository import DynamoGroupStore
from shared.groups.service import GroupService
from shared.ledger.wiring import ledger_service


class CampaignSettings(config.BaseSettings):
    campaigns_table: str = Field(min_length=1)
    groups_table: str = Field(min_length=1)
    event_bus_name: str = Field(default="default", min_length=1)
    campaign_pool_shards: int = Field(default=8, ge=1, le=256)
    campaign_holder_buckets: int = Field(default=16, ge=1, le=4096)


class DrawStarterSettings(config.BaseSettings):
    """Only the functions that start draws have (and load) this."""

    draw_state_machine_arn: str = Field(pattern=r"^arn:aws[a-z-]*:states:")


def settings() -> CampaignSettings:
    return config.load(CampaignSettings)


@lru_cache(maxsize=1)
def publisher() -> EventBridgePublisher:
    return EventBridgePublisher(settings().event_bus_name)


@lru_cache(maxsize=1)
def group_service() -> GroupService:
    return GroupService(DynamoGroupStore(settings().groups_table), publisher())


@lru_cache(maxsize=1)
def campaign_service() -> CampaignService:
    s = settings()
    return CampaignService(DynamoCampaignStore(s.campaigns_table), ledger_service(), group_service(), publisher(),
                           pool_shards=s.campaign_pool_shards, holder_buckets=s.campaign_holder_buckets)


@lru_cache(maxsize=1)
def draw_service() -> DrawService:
    s = settings()
    return DrawService(DynamoCampaignStore(s.campaigns_table), ledger_service(), group_service(), publisher())


@lru_cache(maxsize=1)
def draw_starter() -> StepFunctionsDrawStarter:
    return StepFunctionsDrawStarter(config.load(DrawStarterSettings).draw_state_machine_arn)
