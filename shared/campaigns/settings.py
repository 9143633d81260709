"""Typed settings of the campaign functions (environment from template.yaml's ``CampaignEnv`` anchor).

Campaigns move money (the pot's funding, the prizes), so ``CampaignSettings`` extends ``LedgerSettings``;
``.ledger`` and ``.groups`` project the parts that the ledger and groups services are built from.
"""

from __future__ import annotations

from pydantic import Field

from shared.groups.settings import GroupSettings
from shared.ledger.settings import LedgerSettings
from shared.settings import BaseSettings


class CampaignSettings(LedgerSettings):
    campaigns_table: str = Field(min_length=1)
    groups_table: str = Field(min_length=1)
    campaign_pool_shards: int = Field(default=8, ge=1, le=256)
    campaign_holder_buckets: int = Field(default=16, ge=1, le=4096)

    @property
    def groups(self) -> GroupSettings:
        """What the groups service (the key users and members campaigns ask about) is built from."""
        return GroupSettings(groups_table=self.groups_table)


class DrawStarterSettings(BaseSettings):
    """Only the functions that start draws have (and load) this."""

    draw_state_machine_arn: str = Field(pattern=r"^arn:aws[a-z-]*:states:")
