"""POST /internal/campaigns/{campaign_id}/interactions: a trusted source records a completed interaction."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.campaigns.schemas import CampaignId, InteractionRequest, InteractionResponse
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import claim_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/internal/campaigns/<campaign_id>/interactions", status_code=201,
          summary="Record a completed interaction: one claim right per unique interaction id (internal)",
          responses={201: {"description": "Recorded: one claim right granted",
                           "content": {"application/json": {"model": InteractionResponse}}},
                     200: {"description": "Replayed interaction id: nothing granted",
                           "content": {"application/json": {"model": InteractionResponse}}},
                     **error_responses(400, 401, 403, 404, 409, 422, 503)},
          middlewares=[idempotent(required=False)], tags=["campaigns", "internal"])
def record_interaction(campaign_id: Annotated[CampaignId, Path()],
                       request: InteractionRequest) -> Response[InteractionResponse]:
    current_caller(app).require("internal")
    granted = claim_service(SETTINGS).record_interaction(campaign_id, request.user_id, request.interaction_type,
                                                         request.interaction_id)
    body = InteractionResponse(campaign_id=campaign_id, user_id=request.user_id,
                               interaction_id=request.interaction_id, granted=granted)
    return Response(status_code=201 if granted else 200, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
