"""GET /accounts/me/entries: the caller's ledger entries, newest first, paginated."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.ledger.schemas import EntriesResponse, EntryResponse
from shared.ledger.settings import LedgerSettings
from shared.ledger.wiring import account_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = LedgerSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/accounts/me/entries", summary="The caller's ledger entries (newest first)",
         responses=error_responses(400, 401, 404, 422), tags=["accounts"])
def list_my_entries(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=1024)] = None,
) -> EntriesResponse:
    account, page, token = account_service(SETTINGS).my_entries(current_caller(app).sub, limit, next_token)
    return EntriesResponse(account_id=account.account_id, items=[EntryResponse.of(e) for e in page.items],
                           next_token=token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
