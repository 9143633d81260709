"""POST /real-name/sessions/{session_id}/identity: the typed identity (ID number, name when required) -> 1:1
against that identity's authoritative photo -> VERIFIED or FAILED."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.realname.schemas import IdentityRequest, SessionId, SessionResponse
from shared.realname.settings import RealNameSettings
from shared.realname.wiring import session_service

app = build_resolver()
SETTINGS = RealNameSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/real-name/sessions/<session_id>/identity",
          summary="Type the identity (ID number; name when required) for a 1:1 face check",
          responses=error_responses(400, 401, 404, 409, 422, 429), middlewares=[idempotent()], tags=["real-name"])
def submit_identity(session_id: Annotated[SessionId, Path()], request: IdentityRequest) -> SessionResponse:
    caller = current_caller(app).sub
    session = session_service(SETTINGS).submit_identity(caller, session_id, request.id_number, request.name,
                                                        request_tag(caller, app.current_event.headers[HEADER]))
    metrics.add_metric(name=f"RealNameIdentity{session.status.value.title().replace('_', '')}", unit="Count",
                       value=1)
    return SessionResponse.of(session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
