"""POST /groups: create a group in a campaign's context; the creator becomes a key user of that campaign."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import key_user_service
from shared.groups.schemas import CreateGroupRequest, GroupResponse
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/groups", status_code=201,
          summary="Create a group for a campaign (the caller becomes a key user of that campaign)",
          responses=error_responses(400, 401, 404, 409, 422, 503), middlewares=[idempotent(required=True)],
          tags=["groups"])
def create_group(request: CreateGroupRequest) -> GroupResponse:
    caller = current_caller(app).sub
    group = key_user_service(SETTINGS).create_group(request.campaign_id, caller, request.name,
                                                    request_tag(caller, app.current_event.headers[HEADER]))
    return GroupResponse.of(group)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
