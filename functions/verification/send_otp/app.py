"""POST /verifications/{verification_id}/otp: send a one-time code to the account's phone."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import OtpSentResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/verifications/<verification_id>/otp",
    summary="Send a one-time code (6 digits, 5 minutes) to the account's phone; a resend keeps the tries left",
    responses=error_responses(400, 401, 404, 409, 422, 429, 503),
    middlewares=[idempotent(required=True)],
    tags=["verification"],
)
def send_otp(verification_id: Annotated[str, Path(max_length=64)]) -> OtpSentResponse:
    caller = current_caller(app).sub
    return OtpSentResponse.of(wiring.challenges(SETTINGS).send_otp(
        caller, verification_id, request_tag(caller, app.current_event.headers[HEADER])))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
