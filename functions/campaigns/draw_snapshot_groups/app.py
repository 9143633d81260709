"""Draw step 1b (per group bucket, right after the freeze): record the members of every group holding a
group-shared voucher, as the freeze locked them: the draw time's membership that shares the group's prize.

Invoked by the ``CampaignDraw`` state machine; idempotent (put-once snapshots), so Retry and re-runs are safe.
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
    return draw_service(SETTINGS).snapshot_groups(step.campaign_id, step.required_bucket())
