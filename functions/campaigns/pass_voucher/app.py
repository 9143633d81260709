"""POST /campaigns/{campaign_id}/vouchers/{voucher_id}/pass: pass a held voucher on into the shared pool."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, PassResponse, VoucherId
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import pass_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/campaigns/<campaign_id>/vouchers/<voucher_id>/pass", status_code=200,
          summary="Pass one of the caller's held vouchers on into the campaign's pool",
          responses=error_responses(400, 401, 404, 409, 422, 429, 503), middlewares=[idempotent(required=True)],
          tags=["campaigns"])
def pass_voucher(campaign_id: Annotated[CampaignId, Path()], voucher_id: Annotated[VoucherId, Path()]) -> PassResponse:
    caller = current_caller(app).sub
    entry = pass_service(SETTINGS).pass_on(campaign_id, caller, voucher_id,
                                           request_tag(caller, app.current_event.headers[HEADER]))
    metrics.add_metric(name="VouchersPassed", unit="Count", value=1)
    return PassResponse.of(entry)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
