"""Campaign business rules (SPEC §2), one cohesive service per concern; each depends on ports only.

* ``CampaignService``   create and fund a campaign, read it (fresh or its cached configuration), start its draw,
                        state what its pot accounts must hold (``pot_statement``, for reconciliation);
* ``ClaimService``      interactions grant claim rights; claims (pool first, else newly issued);
* ``PassService``       passing a held voucher on into the pool;
* ``KeyUserService``    the key user's group-shared voucher;
* ``DrawService``       the steps of the ``CampaignDraw`` state machine (freeze, consume, tally, pay, settle);
* ``ResultsService``    a user's sets, share and prizes.

The three voucher-moving services share ``moves.VoucherMoves`` (rules every move checks, retries).
"""

from shared.campaigns.services.campaigns import CampaignService, campaign_account_id, campaign_id_for_account
from shared.campaigns.services.claims import ClaimService
from shared.campaigns.services.draw import DrawService
from shared.campaigns.services.key_users import KeyUserService
from shared.campaigns.services.passing import PassService
from shared.campaigns.services.results import ResultsService

__all__ = ["CampaignService", "ClaimService", "DrawService", "KeyUserService", "PassService", "ResultsService",
           "campaign_account_id", "campaign_id_for_account"]
