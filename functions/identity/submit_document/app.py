"""POST /identity-verifications/{verification_id}/documents/submit: the upload is complete; resume the workflow."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.identity.schemas import VerificationIdStr, VerificationResponse
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import verification_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/identity-verifications/<verification_id>/documents/submit",
    status_code=202,
    summary="Confirm the credential upload; the automated checks and the review queue follow",
    responses=error_responses(400, 401, 404, 409, 422),
    middlewares=[idempotent(required=False)],
    tags=["identity"],
)
def submit_document(verification_id: Annotated[VerificationIdStr, Path()]) -> VerificationResponse:
    return VerificationResponse.of(verification_service(SETTINGS).submit_document(current_caller(app).sub,
                                                                                   verification_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
