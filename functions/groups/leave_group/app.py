"""POST /groups/{group_id}/leave: leave a group (forfeits the group's shares of draws not yet frozen; refused with
409 GROUP_LOCKED_FOR_DRAW while the draw of the campaign whose shared voucher the group holds is running)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.groups.schemas import GroupId, LeftResponse
from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = GroupSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/groups/<group_id>/leave", status_code=200, summary="Leave a group",
          responses=error_responses(400, 401, 404, 409, 422, 503), middlewares=[idempotent(required=False)],
          tags=["groups"])
def leave_group(group_id: Annotated[GroupId, Path()]) -> LeftResponse:
    caller = current_caller(app).sub
    key = app.current_event.headers.get(HEADER)  # optional on this route: without one, no retry is recognised
    group_service(SETTINGS).leave(group_id, caller, request_tag(caller, key) if key else None)
    return LeftResponse(group_id=group_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
