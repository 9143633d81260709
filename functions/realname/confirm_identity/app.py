"""POST /real-name/sessions/{session_id}/confirmation: the user confirms (1:1 against the proposed identity's
authoritative photo -> VERIFIED) or denies (-> the identity to type) the proposed identity."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.realname.schemas import ConfirmationRequest, SessionId, SessionResponse
from shared.realname.settings import RealNameSettings
from shared.realname.wiring import session_service

app = build_resolver()
SETTINGS = RealNameSettings.load()  # at import: a misconfigured function fails its cold start


@app.post("/real-name/sessions/<session_id>/confirmation",
          summary="Confirm or deny the proposed identity", responses=error_responses(400, 401, 404, 409, 422, 429),
          middlewares=[idempotent()], tags=["real-name"])
def confirm_identity(session_id: Annotated[SessionId, Path()], request: ConfirmationRequest) -> SessionResponse:
    caller = current_caller(app).sub
    session = session_service(SETTINGS).confirm(caller, session_id, request.confirmed,
                                                request_tag(caller, app.current_event.headers[HEADER]))
    metrics.add_metric(name=f"RealNameConfirmation{session.status.value.title().replace('_', '')}", unit="Count",
                       value=1)
    return SessionResponse.of(session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
