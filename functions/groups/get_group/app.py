"""GET /groups/{group_id}: the group and its members (members only)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.groups.schemas import GroupId, GroupResponse
from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = GroupSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/groups/<group_id>", summary="A group and its members (members only)",
         responses=error_responses(401, 404, 422), tags=["groups"])
def get_group(group_id: Annotated[GroupId, Path()]) -> GroupResponse:
    return GroupResponse.of(group_service(SETTINGS).get(group_id, current_caller(app).sub))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
