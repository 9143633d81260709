"""POST /proxy-orders/{order_id}/cancel: the requester cancels an open order; a withdrawal's hold is released."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import OrderResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/proxy-orders/<order_id>/cancel",
    summary="Cancel an open proxy order (releases a withdrawal's hold once)",
    responses=error_responses(400, 401, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["proxy"],
)
def cancel_order(order_id: Annotated[str, Path(max_length=64)]) -> OrderResponse:
    caller = current_caller(app).sub
    return OrderResponse.of(wiring.requester_orders(SETTINGS).cancel(
        caller, order_id, request_tag(caller, app.current_event.headers[HEADER])))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
