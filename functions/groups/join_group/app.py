"""POST /groups/join: join a group with an invitation code (refused with 409 GROUP_LOCKED_FOR_DRAW while the draw
of the campaign whose shared voucher the group holds is running: its members are the ones snapshotted)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.groups.schemas import GroupResponse, JoinGroupRequest
from shared.groups.settings import GroupSettings
from shared.groups.wiring import group_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = GroupSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/groups/join", status_code=200, summary="Join a group with an invitation code",
          responses=error_responses(400, 401, 404, 409, 422, 503), middlewares=[idempotent(required=True)],
          tags=["groups"])
def join_group(request: JoinGroupRequest) -> GroupResponse:
    caller = current_caller(app).sub
    return GroupResponse.of(group_service(SETTINGS).join(request.code, caller,
                                                         request_tag(caller, app.current_event.headers[HEADER])))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
