"""POST /real-name/sessions: selfie + liveness + context -> quality gates, liveness, risk and trust under the
policy, then the masked proposed identity (1:N) or the identity fields to type."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.face.api import image_body_limit
from shared.observability import logger, metrics, tracer
from shared.realname.schemas import CreateSessionRequest, SessionResponse
from shared.realname.settings import RealNameSettings
from shared.realname.wiring import session_service

app = build_resolver()
SETTINGS = RealNameSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/real-name/sessions",
    status_code=201,
    summary="Start real-name authentication: selfie, answered liveness challenge and the client's context",
    responses=error_responses(400, 401, 404, 409, 413, 422, 429),
    middlewares=[image_body_limit(SETTINGS), idempotent()],
    tags=["real-name"],
)
def create_session(request: CreateSessionRequest) -> SessionResponse:
    source_ip = app.current_event.request_context.identity.source_ip
    caller = current_caller(app).sub
    session = session_service(SETTINGS).create(
        caller, request.context.to_domain(source_ip), request.selfie_bytes(SETTINGS),
        request.liveness.challenge_id, request.liveness.frame_bytes(SETTINGS),
        request=request_tag(caller, app.current_event.headers[HEADER]))
    metrics.add_metric(name=f"RealNameSession{session.status.value.title().replace('_', '')}", unit="Count",
                       value=1)
    return SessionResponse.of(session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
