"""Builds the campaign services from the function's settings, once per container and configuration.

Groups are reached only through their service (``shared.groups.wiring``), which is the ``GroupDirectory``
campaigns declare; money only through the ledger's service.
"""

from __future__ import annotations

from functools import cache

from shared.campaigns.adapters import StepFunctionsDrawStarter
from shared.campaigns.repository import DynamoCampaignStore
from shared.campaigns.services import (
    CampaignService,
    ClaimService,
    DrawService,
    KeyUserService,
    PassService,
    ResultsService,
)
from shared.campaigns.settings import CampaignSettings, DrawStarterSettings
from shared.groups.wiring import group_service
from shared.ledger.wiring import ledger_service


@cache
def _store(table: str) -> DynamoCampaignStore:
    return DynamoCampaignStore(table)


@cache
def campaign_service(settings: CampaignSettings) -> CampaignService:
    return CampaignService(_store(settings.campaigns_table), ledger_service(settings.ledger),
                           pool_shards=settings.campaign_pool_shards,
                           holder_buckets=settings.campaign_holder_buckets)


@cache
def claim_service(settings: CampaignSettings) -> ClaimService:
    return ClaimService(campaign_service(settings), _store(settings.campaigns_table))


@cache
def pass_service(settings: CampaignSettings) -> PassService:
    return PassService(campaign_service(settings), _store(settings.campaigns_table))


@cache
def key_user_service(settings: CampaignSettings) -> KeyUserService:
    return KeyUserService(campaign_service(settings), _store(settings.campaigns_table),
                          group_service(settings.groups))


@cache
def draw_service(settings: CampaignSettings) -> DrawService:
    return DrawService(_store(settings.campaigns_table), ledger_service(settings.ledger),
                       group_service(settings.groups))


@cache
def results_service(settings: CampaignSettings) -> ResultsService:
    return ResultsService(_store(settings.campaigns_table))


@cache
def draw_starter(settings: DrawStarterSettings) -> StepFunctionsDrawStarter:
    return StepFunctionsDrawStarter(settings.draw_state_machine_arn)
