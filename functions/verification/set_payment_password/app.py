"""PUT /me/payment-password: set the payment password (the first one without a token; changing it needs an
ACCOUNT_UPDATE verification token in X-Verification-Token)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.auth import VerificationTokenHeader, client_context
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import PaymentPasswordRequest, PaymentPasswordResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.put(
    "/me/payment-password",
    summary="Set or change the payment password (changing needs an ACCOUNT_UPDATE token)",
    responses=error_responses(400, 401, 403, 409, 422),
    middlewares=[idempotent(required=True)],
    tags=["verification"],
)
def set_payment_password(request: PaymentPasswordRequest,
                         x_verification_token: VerificationTokenHeader = None) -> PaymentPasswordResponse:
    caller = current_caller(app).sub
    record, changed = wiring.passwords(SETTINGS).set(caller, request.password, client_context(app).verification_token,
                                                     request_tag(caller, app.current_event.headers[HEADER]))
    return PaymentPasswordResponse.of(record, changed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
