"""PATCH /accounts/me {phone}: change the phone. Needs an ACCOUNT_UPDATE verification token; the new number
gets a code, and POST /accounts/me/phone/confirmation with it replaces the old number (CONTRACTS.md)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.auth import VerificationTokenHeader, client_context
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.ledger.schemas import mask_phone
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import PhoneChangeResponse, UpdateMyAccountRequest
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.patch(
    "/accounts/me",
    status_code=202,
    summary="Change the account's phone: a code goes to the new number (needs an ACCOUNT_UPDATE token)",
    responses=error_responses(400, 401, 403, 404, 422, 429, 503),
    middlewares=[idempotent(required=True)],
    tags=["accounts"],
)
def update_my_account(request: UpdateMyAccountRequest,
                      x_verification_token: VerificationTokenHeader = None) -> PhoneChangeResponse:
    caller = current_caller(app).sub
    change = wiring.phone_changes(SETTINGS).request(caller, request.phone, client_context(app).verification_token,
                                                    request_tag(caller, app.current_event.headers[HEADER]))
    return PhoneChangeResponse(phone=mask_phone(change.new_phone) or "", expires_at=change.expires_at)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
