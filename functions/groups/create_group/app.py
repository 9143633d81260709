"""POST /groups: create a group; the creator becomes its key user."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.groups.schemas import CreateGroupRequest, GroupResponse
from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = GroupSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/groups", status_code=201, summary="Create a group (the caller becomes its key user)",
          responses=error_responses(400, 401, 409, 422), middlewares=[idempotent(required=True)], tags=["groups"])
def create_group(request: CreateGroupRequest) -> GroupResponse:
    return GroupResponse.of(group_service(SETTINGS).create(current_caller(app).sub, request.name))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
