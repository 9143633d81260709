"""POST /proxy-orders/{order_id}/confirmation: the requester confirms (or declines) the proxy; money moves."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import ConfirmRequest, ReceiptResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/proxy-orders/<order_id>/confirmation",
    summary="Confirm the proxy of an order awaiting confirmation (approve: false cancels it)",
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["proxy"],
)
def confirm_order(order_id: Annotated[str, Path(max_length=64)], request: ConfirmRequest) -> ReceiptResponse:
    order, tx = wiring.requester_orders(SETTINGS).confirm(current_caller(app).sub, order_id, request.approve)
    return ReceiptResponse.of(order, tx)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
