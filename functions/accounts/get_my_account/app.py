"""GET /accounts/me: the caller's account and balance."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.ledger.schemas import AccountResponse
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = LedgerSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/accounts/me", summary="The caller's account and balance", responses=error_responses(401, 404),
         tags=["accounts"])
def get_my_account() -> AccountResponse:
    return AccountResponse.of(account_service(SETTINGS).my_account(current_caller(app).sub))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
