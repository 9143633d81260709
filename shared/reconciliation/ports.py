"""What reconciliation reads, each through the owning capability's port or service (never their items):

* the ledger's ``LedgerAudit`` (``shared.ledger.ports``): every account, consistent batch reads, entry totals;
* proxy's ``HoldsService`` (``shared.proxy.services``): what each holds account must hold;
* campaigns' ``CampaignService`` (``shared.campaigns.services``): which campaign an account is a pot of, and
  what the campaign's pot accounts must hold.
"""

from __future__ import annotations

from typing import Protocol

from shared.campaigns.models import PotStatement
from shared.ledger.ports import LedgerAudit
from shared.proxy.models import PendingHolds

__all__ = ["CampaignPots", "LedgerAudit", "PendingHoldsSource"]


class PendingHoldsSource(Protocol):
    def pending_holds(self) -> list[PendingHolds]: ...


class CampaignPots(Protocol):
    def pot_statement(self, campaign_id: str) -> PotStatement | None: ...
