"""POST /identity-verifications: ask to be verified as holding an identity; starts the workflow (202)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.identity.schemas import StartVerificationRequest, VerificationResponse
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import verification_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/identity-verifications",
    status_code=202,
    summary="Ask to be verified as holding a specific identity (e.g. student)",
    responses=error_responses(400, 401, 409, 422),
    middlewares=[idempotent(required=True)],
    tags=["identity"],
)
def start_verification(request: StartVerificationRequest) -> VerificationResponse:
    v = verification_service(SETTINGS).start(current_caller(app).sub, request.identity_type, request.claimed,
                                             app.current_event.headers[HEADER])
    metrics.add_metric(name="IdentityVerificationStarted", unit="Count", value=1)
    return VerificationResponse.of(v)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
