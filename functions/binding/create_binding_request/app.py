"""POST /partners/bindings: a partner bank asks to bind its customer's card; starts the binding saga (202)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, idempotent
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.api import PARTNER_KEY, signed_partner
from shared.binding.schemas import BindingRequestResponse, CreateBindingRequest
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/partners/bindings",
    summary="Request a card binding for a bank customer (partner, signed); 202 new, 200 the open one",
    responses={202: {"description": "Started", "content": {"application/json": {"model": BindingRequestResponse}}},
               200: {"description": "The open request for this customer and card",
                     "content": {"application/json": {"model": BindingRequestResponse}}},
               **error_responses(400, 401, 403, 409, 422, 503)},
    middlewares=[signed_partner(SETTINGS), idempotent(required=True)],
    tags=["partners", "binding"],
)
def create_binding_request(request: CreateBindingRequest) -> Response[BindingRequestResponse]:
    partner = app.context[PARTNER_KEY]
    created, new = wiring.requests(SETTINGS).create(
        partner, request.customer.phone, request.customer.name, request.customer.id_number, request.card.token,
        request.card.last4, request.card.type, request.card.expiry, request.bank_customer_ref)
    if new:
        metrics.add_metric(name="BindingRequested", unit="Count", value=1)
    return Response(status_code=202 if new else 200, content_type=content_types.APPLICATION_JSON,
                    body=BindingRequestResponse.of(created))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
