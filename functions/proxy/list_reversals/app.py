"""GET /admin/proxy-reversals?status=REQUESTED: the reversal review queue, oldest first (admin or reviewer)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.models import ReversalStatus
from shared.proxy.schemas import ReversalResponse, ReversalsPage
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/admin/proxy-reversals", summary="Reversal requests by status, oldest first (admin or reviewer)",
         responses=error_responses(400, 401, 403, 422), tags=["admin"])
def list_reversals(
    status: Annotated[ReversalStatus, Query()] = ReversalStatus.REQUESTED,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=1024)] = None,
) -> ReversalsPage:
    current_caller(app).require("admin", "reviewer")
    items, token = wiring.reversals(SETTINGS).list_reversals(status, limit, next_token)
    return ReversalsPage(items=[ReversalResponse.of(r) for r in items], next_token=token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
