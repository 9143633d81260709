"""POST /admin/campaigns: create a campaign and fund its prize pot through the ledger (admin)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.campaigns.models import KindWeight, Limits
from shared.campaigns.schemas import CampaignResponse, CreateCampaignRequest
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import campaign_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/admin/campaigns", status_code=201, summary="Create a campaign and fund its prize pot (admin)",
          responses=error_responses(400, 401, 403, 409, 422, 503), middlewares=[idempotent(required=True)],
          tags=["campaigns", "admin"])
def create_campaign(request: CreateCampaignRequest) -> CampaignResponse:
    admin = current_caller(app).require("admin")
    campaign = campaign_service(SETTINGS).create(
        admin.sub, app.current_event.headers[HEADER], request.name,
        [KindWeight(kind=k.kind, weight=k.weight) for k in request.kinds], request.prize_pot, request.draw_at,
        request.interaction_types, Limits(**request.limits.model_dump()))
    metrics.add_metric(name="CampaignsCreated", unit="Count", value=1)
    return CampaignResponse.of(campaign)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
