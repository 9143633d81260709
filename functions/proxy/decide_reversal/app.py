"""POST /admin/proxy-reversals/{request_id}/decision: an admin or reviewer approves or rejects a reversal."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import ReversalDecisionBody, ReversalResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/proxy-reversals/<request_id>/decision",
    summary="Decide a reversal request; approval posts the opposite transfer once (admin or reviewer)",
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
    middlewares=[idempotent(required=True)],
    tags=["admin"],
)
def decide_reversal(request_id: Annotated[str, Path(max_length=64)],
                    request: ReversalDecisionBody) -> ReversalResponse:
    decider = current_caller(app).require("admin", "reviewer")
    decided, _ = wiring.reversals(SETTINGS).decide_reversal(
        decider.sub, request_id, request.approve, request.note,
        request_tag(decider.sub, app.current_event.headers[HEADER]))
    return ReversalResponse.of(decided)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
