"""POST /proxy-orders/{order_id}/reversal-requests: either party asks for an executed order to be reversed."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import ReversalRequestBody, ReversalResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/proxy-orders/<order_id>/reversal-requests",
    status_code=201,
    summary="Request the reversal of an executed order (requester or proxy, within the window)",
    responses=error_responses(400, 401, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["proxy"],
)
def request_reversal(order_id: Annotated[str, Path(max_length=64)], request: ReversalRequestBody) -> ReversalResponse:
    reversals = wiring.reversals(SETTINGS)
    caller = current_caller(app).sub
    return ReversalResponse.of(reversals.request_reversal(caller, order_id, request.reason,
                                                          request_tag(caller, app.current_event.headers[HEADER])))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
