"""GET /real-name/sessions/{session_id}: the caller's session (status, next step, masked identity, reasons)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.realname.schemas import SessionId, SessionResponse
from shared.realname.settings import RealNameSettings
from shared.realname.wiring import session_service

app = build_resolver()
SETTINGS = RealNameSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/real-name/sessions/<session_id>", summary="My real-name session: status, next step, masked identity",
         responses=error_responses(401, 404, 422), tags=["real-name"])
def get_session(session_id: Annotated[SessionId, Path()]) -> SessionResponse:
    return SessionResponse.of(session_service(SETTINGS).get(current_caller(app).sub, session_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
