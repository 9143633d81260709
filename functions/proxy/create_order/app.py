"""POST /proxy-orders: create a proxy-mode top-up or withdrawal; returns the signed, single-use code."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import CreatedOrderResponse, CreateOrderRequest
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/proxy-orders",
    status_code=201,
    summary="Create a proxy-mode order (cash top-up or withdrawal through a proxy)",
    responses=error_responses(400, 401, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["proxy"],
)
def create_order(request: CreateOrderRequest) -> CreatedOrderResponse:
    order, code = wiring.requester_orders(SETTINGS).create(current_caller(app).sub, request.type, request.amount,
                                                           request.proxy_mode, app.current_event.headers[HEADER])
    metrics.add_metric(name="ProxyOrderCreated", unit="Count", value=1)
    return CreatedOrderResponse.of(order, code)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
