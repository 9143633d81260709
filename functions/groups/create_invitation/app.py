"""POST /groups/{group_id}/invitations: a member creates an invite code."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.groups.schemas import GroupId, InvitationResponse
from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = GroupSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/groups/<group_id>/invitations", status_code=201, summary="Create an invitation code (members only)",
          responses=error_responses(400, 401, 404, 422), middlewares=[idempotent(required=True)], tags=["groups"])
def create_invitation(group_id: Annotated[GroupId, Path()]) -> InvitationResponse:
    return InvitationResponse.of(group_service(SETTINGS).invite(group_id, current_caller(app).sub))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
