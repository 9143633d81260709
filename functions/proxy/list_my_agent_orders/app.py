"""GET /agents/me/orders?date=YYYY-MM-DD: orders the caller's agent account executed that day, with totals."""

from datetime import date as Date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy.schemas import AgentOrderLine, AgentOrdersResponse, AgentTotals
from shared.proxy.wiring import proxy_service

app = build_resolver()


@app.get("/agents/me/orders", summary="The agent's executed orders of a UTC day, for reconciliation",
         responses=error_responses(401, 404, 422), tags=["proxy"])
def list_my_agent_orders(date: Annotated[Date | None, Query()] = None) -> AgentOrdersResponse:
    agent, day, orders, totals = proxy_service().my_agent_orders(current_caller(app).sub,
                                                                 date.isoformat() if date else None)
    items = [AgentOrderLine(order_id=o.order_id, type=o.type, status=o.status, amount=o.amount,
                            transaction_id=o.transaction_id, executed_at=o.executed_at) for o in orders]
    return AgentOrdersResponse(
        account_id=agent.account_id, date=day, items=items,
        totals=AgentTotals(count=totals.count, top_up_amount=totals.top_up_amount,
                           withdrawal_amount=totals.withdrawal_amount, net=totals.net,
                           currency=orders[0].amount.currency if orders else None),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
