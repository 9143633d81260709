"""GET /campaigns/{campaign_id}/vouchers: the caller's vouchers in the campaign."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, VoucherList, VoucherResponse
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import claim_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/campaigns/<campaign_id>/vouchers", summary="The caller's vouchers (held and consumed)",
         responses=error_responses(401, 404, 422), tags=["campaigns"])
def list_my_vouchers(campaign_id: Annotated[CampaignId, Path()]) -> VoucherList:
    vouchers = claim_service(SETTINGS).my_vouchers(campaign_id, current_caller(app).sub)
    return VoucherList(items=[VoucherResponse.of(v) for v in vouchers])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
