"""A user's draw results: their complete sets, the share per set and the prizes paid to them."""

from __future__ import annotations

from shared.campaigns.errors import CampaignNotFound
from shared.campaigns.models import Campaign, DrawSet, DrawTally, Payment
from shared.campaigns.ports import CampaignStore


class ResultsService:
    def __init__(self, store: CampaignStore) -> None:
        self.store = store

    def results(self, campaign_id: str, user_id: str) -> tuple[Campaign, DrawTally | None, list[DrawSet],
                                                               list[Payment]]:
        campaign = self.store.get_campaign(campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id=campaign_id)
        sets = self.store.list_sets(campaign, campaign.bucket_of(user_id), user_id)
        return campaign, self.store.get_tally(campaign_id), sets, self.store.list_payments(campaign_id, user_id)
