"""POST /admin/accounts/{account_id}/deposits: fund an account from the settlement account (admin)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.ledger.schemas import DepositRequest, TransactionResponse
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.observability import logger, metrics, tracer
from shared.types import AccountId

app = build_resolver()
SETTINGS = LedgerSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/accounts/<account_id>/deposits",
    status_code=201,
    summary="Fund an account from the platform's settlement account (admin)",
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["admin"],
)
def admin_deposit(account_id: Annotated[AccountId, Path()], request: DepositRequest) -> TransactionResponse:
    admin = current_caller(app).require("admin")
    tx = account_service(SETTINGS).deposit(admin.sub, account_id, request.amount, app.current_event.headers[HEADER],
                                      request.note)
    return TransactionResponse.of(tx)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
