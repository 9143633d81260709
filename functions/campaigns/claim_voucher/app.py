"""POST /campaigns/{campaign_id}/claims: use a claim right; pool first, else a newly issued voucher."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, ClaimResponse, VoucherResponse
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import claim_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/campaigns/<campaign_id>/claims", status_code=201,
          summary="Claim a voucher (needs an unused claim right from an interaction)",
          responses=error_responses(400, 401, 404, 409, 422, 429, 503), middlewares=[idempotent(required=True)],
          tags=["campaigns"])
def claim_voucher(campaign_id: Annotated[CampaignId, Path()]) -> ClaimResponse:
    voucher = claim_service(SETTINGS).claim(campaign_id, current_caller(app).sub, app.current_event.headers[HEADER])
    metrics.add_metric(name=f"VouchersClaimedFrom{voucher.source.value.title()}", unit="Count", value=1)
    return ClaimResponse(voucher=VoucherResponse.of(voucher), source=voucher.source.value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
