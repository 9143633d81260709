"""GET /campaigns/{campaign_id}/results: the caller's complete sets, shares and payments."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, PaymentResponse, ResultsResponse, SetResponse
from shared.campaigns.wiring import draw_service
from shared.observability import logger, metrics, tracer
from shared.types import Money

app = build_resolver()


@app.get("/campaigns/<campaign_id>/results", summary="The caller's sets, shares and payments",
         responses=error_responses(401, 404, 422), tags=["campaigns"])
def get_results(campaign_id: Annotated[CampaignId, Path()]) -> ResultsResponse:
    campaign, tally, sets, payments = draw_service().results(campaign_id, current_caller(app).sub)
    share = Money(amount=tally.share, currency=campaign.prize_pot.currency) if tally and tally.share else None
    return ResultsResponse(campaign_id=campaign_id, status=campaign.status.value,
                           total_sets=tally.total_sets if tally else None, share=share,
                           sets=[SetResponse.of(s) for s in sets], payments=[PaymentResponse.of(p) for p in payments])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
