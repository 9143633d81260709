"""Builds the group service from the function's settings, once per container and configuration."""

from __future__ import annotations

from functools import cache

from shared.groups.repository import DynamoGroupStore
from shared.groups.service import GroupService
from shared.groups.settings import GroupSettings


@cache
def group_service(settings: GroupSettings) -> GroupService:
    return GroupService(DynamoGroupStore(settings.groups_table))
