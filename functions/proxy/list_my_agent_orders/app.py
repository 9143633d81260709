"""GET /agents/me/orders?date=YYYY-MM-DD: orders the caller's agent account executed that day, with totals."""

from datetime import date as Date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import AgentOrdersResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/agents/me/orders", summary="The agent's executed orders of a UTC day, for reconciliation",
         responses=error_responses(401, 404, 422), tags=["proxy"])
def list_my_agent_orders(date: Annotated[Date | None, Query()] = None) -> AgentOrdersResponse:
    day = date.isoformat() if date else None
    return AgentOrdersResponse.of(*wiring.agents(SETTINGS).my_agent_orders(current_caller(app).sub, day))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
