"""EventBridge Scheduler (every minute): start the draw of every OPEN campaign whose draw time has come."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.campaigns.settings import CampaignSettings, DrawStarterSettings
from shared.campaigns.wiring import campaign_service, draw_starter
from shared.observability import logger, metrics, tracer

SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start
STARTER = DrawStarterSettings.load()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, Any]:
    started = campaign_service(SETTINGS).start_due_draws(draw_starter(STARTER))
    metrics.add_metric(name="DrawsStarted", unit="Count", value=len(started))
    return {"started": started}
