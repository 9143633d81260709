"""GET /campaigns/{campaign_id}: public information, pool counts by kind, draw status."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, CampaignResponse
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import campaign_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/campaigns/<campaign_id>", summary="A campaign: status and pool counts by kind",
         responses=error_responses(401, 404, 422), tags=["campaigns"])
def get_campaign(campaign_id: Annotated[CampaignId, Path()]) -> CampaignResponse:
    current_caller(app)
    campaign, pool, issued = campaign_service(SETTINGS).overview(campaign_id)
    return CampaignResponse.of(campaign, pool, issued)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
