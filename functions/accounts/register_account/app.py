"""POST /accounts: register the caller's payment account."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.ledger.schemas import AccountResponse, RegisterAccountRequest
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = LedgerSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/accounts",
    status_code=201,
    summary="Register the caller's payment account",
    responses=error_responses(400, 401, 409, 422),
    middlewares=[idempotent(required=True)],
    tags=["accounts"],
)
def register_account(request: RegisterAccountRequest | None = None) -> AccountResponse:
    caller = current_caller(app)
    account = account_service(SETTINGS).register(caller.sub, request.currency if request else None,
                                                 phone=caller.phone_number,
                                                 request_key=app.current_event.headers[HEADER])
    metrics.add_metric(name="AccountsRegistered", unit="Count", value=1)
    return AccountResponse.of(account)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
