"""Builds the reconciliation service from the function's settings, once per container and configuration.

It reads the ledger through ``shared.ledger.wiring.ledger_audit``, open withdrawals through proxy's
``HoldsService`` and pots through campaigns' ``CampaignService`` (each built by its own wiring from its own
settings, which the handler loads at import).
"""

from __future__ import annotations

from functools import cache

from shared.campaigns.services import campaign_id_for_account
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import campaign_service
from shared.ledger.wiring import ledger_audit
from shared.proxy import wiring as proxy_wiring
from shared.proxy.settings import ProxySettings
from shared.reconciliation.service import ReconciliationService
from shared.reconciliation.settings import ReconciliationSettings


@cache
def reconciliation(settings: ReconciliationSettings, proxy: ProxySettings,
                   campaigns: CampaignSettings) -> ReconciliationService:
    return ReconciliationService(ledger_audit(settings.ledger), proxy_wiring.holds(proxy), campaign_service(campaigns),
                                 campaign_id_for_account, settings)
