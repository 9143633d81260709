"""POST /verifications/{verification_id}/attempts: one attempt with an offered method -> PASSED (with a
verification token), FAILED (with the tries left) or LOCKED; 429 TOO_MANY_ATTEMPTS with Retry-After."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.binding.settings import BindingSettings
from shared.face.settings import FaceApiSettings
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.api import answer_of
from shared.verification.schemas import AttemptRequest, AttemptResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start
FACE = FaceApiSettings.load()  # the FACE method and face captures (shared/face)
BINDING = BindingSettings.load()  # CARD and the first-use gate (bank binding)


@app.post(
    "/verifications/<verification_id>/attempts",
    summary="Answer the challenge with one offered method (SMS_OTP, PASSWORD, FACE, CARD)",
    responses=error_responses(400, 401, 404, 409, 413, 422, 429, 503),
    middlewares=[idempotent(required=True, secret_fields=("token",))],
    tags=["verification"],
)
def attempt_verification(verification_id: Annotated[str, Path(max_length=64)],
                         request: AttemptRequest) -> AttemptResponse:
    caller = current_caller(app).sub
    outcome = wiring.challenges(SETTINGS, FACE, BINDING).attempt(
        caller, verification_id, answer_of(request), request_tag(caller, app.current_event.headers[HEADER]))
    return AttemptResponse.of(outcome, request.method)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
