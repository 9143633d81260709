"""POST /transfers: peer-to-peer transfer from the caller's account (Idempotency-Key required)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.ledger.schemas import TransactionResponse, TransferRequest
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = LedgerSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/transfers",
    status_code=201,
    summary="Transfer money from the caller's account to another account",
    responses=error_responses(400, 401, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["accounts"],
)
def create_transfer(request: TransferRequest) -> TransactionResponse:
    caller = current_caller(app)
    tx = account_service(SETTINGS).transfer(
        caller.sub, request.to_account_id, request.amount, app.current_event.headers[HEADER], request.note
    )
    metrics.add_metric(name="TransferAmount", unit="Count", value=tx.amount.amount)
    return TransactionResponse.of(tx)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
