"""POST /accounts/me/phone/confirmation {otp}: the code sent to the new number; PASSED replaces the phone."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import ConfirmPhoneRequest, PhoneConfirmationResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/accounts/me/phone/confirmation",
    summary="Confirm the new phone with the code sent to it (PASSED, FAILED with tries left, LOCKED)",
    responses=error_responses(400, 401, 404, 409, 422, 429),
    middlewares=[idempotent(required=True)],
    tags=["accounts"],
)
def confirm_phone_change(request: ConfirmPhoneRequest) -> PhoneConfirmationResponse:
    caller = current_caller(app).sub
    return PhoneConfirmationResponse.of(wiring.phone_changes(SETTINGS).confirm(
        caller, request.otp, request_tag(caller, app.current_event.headers[HEADER])))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
