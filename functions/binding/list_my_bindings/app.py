"""GET /bindings: the caller's bound cards (masked) with their bank."""
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.schemas import BindingResponse, BindingsResponse
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/bindings", summary="The caller's bank-card bindings (masked card, bank name)",
         responses=error_responses(401), tags=["binding"])
def list_my_bindings() -> BindingsResponse:
    items = wiring.user_bindings(SETTINGS).list(current_caller(app).sub)
    return BindingsResponse(items=[BindingResponse.of(b) for b in items])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
