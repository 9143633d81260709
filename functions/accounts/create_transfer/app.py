"""POST /transfers: peer-to-peer transfer from the caller's account (Idempotency-Key required).

At or above the verification policy's amount (5,000.00 CNY by default) the transfer runs the adaptive-verification
decision inline (a port of the ledger's AccountService, SPEC §4): verification-free -> it proceeds; otherwise
403 VERIFICATION_REQUIRED names the verification to complete, and the retry (same Idempotency-Key) carries a
PAYMENT token bound to this amount and payee in X-Verification-Token."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.auth import DeviceIdHeader, SessionIdHeader, VerificationTokenHeader, client_context
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.binding.settings import BindingSettings
from shared.face.settings import FaceApiSettings
from shared.ledger.schemas import TransactionResponse, TransferRequest
from shared.observability import logger, metrics, tracer
from shared.verification.settings import VerificationSettings
from shared.verification.wiring import guarded_accounts

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start
FACE = FaceApiSettings.load()  # the FACE method and face captures (shared/face)
BINDING = BindingSettings.load()  # CARD and the first-use gate (bank binding)


@app.post(
    "/transfers",
    status_code=201,
    summary="Transfer money from the caller's account to another account",
    responses=error_responses(400, 401, 403, 404, 409, 422, 429, 503),
    middlewares=[idempotent(required=True)],
    tags=["accounts"],
)
def create_transfer(request: TransferRequest, x_session_id: SessionIdHeader = None, x_device_id: DeviceIdHeader = None,
                    x_verification_token: VerificationTokenHeader = None) -> TransactionResponse:
    caller = current_caller(app)
    tx = guarded_accounts(SETTINGS, FACE, BINDING).transfer(
        caller.sub, request.to_account_id, request.amount, app.current_event.headers[HEADER], request.note,
        client=client_context(app))
    metrics.add_metric(name="TransferAmount", unit="Count", value=tx.amount.amount)
    return TransactionResponse.of(tx)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
