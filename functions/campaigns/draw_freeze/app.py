"""Draw step 1: lock the membership of the groups holding a group-shared voucher, freeze the campaign (DRAWING)
and close every pool shard's gate.

Invoked by the ``CampaignDraw`` state machine; idempotent, so Retry and re-runs are safe.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.campaigns.schemas import DrawStepInput
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import draw_service
from shared.observability import logger, metrics, tracer

SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, Any]:
    step = DrawStepInput.model_validate(event)
    return draw_service(SETTINGS).freeze(step.campaign_id)
