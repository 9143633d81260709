"""POST /admin/campaigns/{campaign_id}/draw: start (or re-run) the CampaignDraw workflow (admin)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, DrawStarted
from shared.campaigns.settings import CampaignSettings, DrawStarterSettings
from shared.campaigns.wiring import campaign_service, draw_starter
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start
STARTER = DrawStarterSettings.load()


@app.post("/admin/campaigns/<campaign_id>/draw", status_code=202,
          summary="Start the draw now (re-running a finished or failed draw pays nobody twice)",
          responses=error_responses(400, 401, 403, 404, 422), middlewares=[idempotent(required=True)],
          tags=["campaigns", "admin"])
def start_draw(campaign_id: Annotated[CampaignId, Path()]) -> DrawStarted:
    current_caller(app).require("admin")
    campaign, execution_arn = campaign_service(SETTINGS).start_draw(campaign_id, draw_starter(STARTER))
    return DrawStarted(campaign_id=campaign_id, execution_arn=execution_arn, status=campaign.status.value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
