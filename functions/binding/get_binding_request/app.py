"""GET /partners/bindings/{binding_request_id}: the request's status (partner, signed; own requests only)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.api import PARTNER_KEY, signed_partner
from shared.binding.schemas import BindingRequestId, BindingRequestResponse
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.get(
    "/partners/bindings/<binding_request_id>",
    summary="A binding request's status: REGISTERING, AWAITING_BANK (account_id, confirm_by), BOUND or FAILED",
    responses=error_responses(401, 403, 404),
    middlewares=[signed_partner(SETTINGS)],
    tags=["partners", "binding"],
)
def get_binding_request(binding_request_id: Annotated[BindingRequestId, Path()]) -> BindingRequestResponse:
    partner = app.context[PARTNER_KEY]
    return BindingRequestResponse.of(wiring.requests(SETTINGS).get(partner.partner_id, binding_request_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
