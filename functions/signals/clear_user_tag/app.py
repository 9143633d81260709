"""DELETE /admin/users/{sub}/tags/{tag}: take a user off a watch list (admin; audited: who, when, why)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.signals.models import WatchTag
from shared.signals.schemas import TagClearedResponse, TagRequest
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_service
from shared.types import UserId

app = build_resolver()
SETTINGS = SignalsSettings.load()  # at import: a misconfigured function fails its cold start


@app.delete("/admin/users/<sub>/tags/<tag>", summary="Remove a user's tag (admin; the reason is audited)",
            responses=error_responses(400, 401, 403, 404, 409, 422), middlewares=[idempotent(required=False)],
            tags=["admin"])
def clear_user_tag(sub: Annotated[UserId, Path()], tag: Annotated[WatchTag, Path()],
                   request: TagRequest) -> TagClearedResponse:
    admin = current_caller(app).require("admin")
    key = app.current_event.headers.get(HEADER)  # optional on this route: without one, no retry is recognised
    return TagClearedResponse.of(signals_service(SETTINGS).clear_tag(
        admin.sub, sub, tag, request.reason, request_tag(admin.sub, key) if key else None))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
