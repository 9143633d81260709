"""POST /proxy-orders/execute: the proxy redeems a scanned code through its own account (exactly once)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.api import verify_code_first
from shared.proxy.schemas import ExecuteRequest, OrderResponse, ReceiptResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/proxy-orders/execute",
    summary="Execute a proxy order by its code (200 receipt; 202 when the requester must confirm)",
    responses={200: {"description": "Executed", "content": {"application/json": {"model": ReceiptResponse}}},
               202: {"description": "Awaiting the requester's confirmation",
                     "content": {"application/json": {"model": OrderResponse}}},
               **error_responses(400, 401, 403, 404, 409, 422, 503)},
    middlewares=[verify_code_first(SETTINGS), idempotent(required=True)],
    tags=["proxy"],
)
def execute_order(request: ExecuteRequest) -> Response[ReceiptResponse | OrderResponse]:
    caller = current_caller(app).sub
    order, tx = wiring.execution(SETTINGS).execute(caller, request.code, request.proxy_account_id,
                                                   request_tag(caller, app.current_event.headers[HEADER]))
    if tx is None:  # confirmation step is on: the requester completes it
        pending = OrderResponse.of(order)
        return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=pending)
    metrics.add_metric(name="ProxyOrderExecuted", unit="Count", value=1)
    receipt = ReceiptResponse.of(order, tx)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=receipt)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
