"""POST /campaigns/{campaign_id}/key-user-claims: a group's key user gets one group-shared voucher."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, ClaimResponse, VoucherResponse
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import key_user_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/campaigns/<campaign_id>/key-user-claims", status_code=201,
          summary="The key user's group-shared voucher (once per user per campaign)",
          responses=error_responses(400, 401, 403, 404, 409, 422, 429, 503),
          middlewares=[idempotent(required=True)], tags=["campaigns", "groups"])
def key_user_claim(campaign_id: Annotated[CampaignId, Path()]) -> ClaimResponse:
    caller = current_caller(app).sub
    voucher = key_user_service(SETTINGS).key_user_claim(campaign_id, caller,
                                                        request_tag(caller, app.current_event.headers[HEADER]))
    return ClaimResponse(voucher=VoucherResponse.of(voucher), source=voucher.source.value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
