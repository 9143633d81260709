"""POST /partners/bindings/{binding_request_id}/confirmation: the bank bound the card to the account (partner)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, idempotent
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.api import PARTNER_KEY, signed_partner
from shared.binding.schemas import BindingRequestId, BindingRequestResponse, ConfirmBindingRequest
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/partners/bindings/<binding_request_id>/confirmation",
    summary="Confirm the bank's binding: records it (a card binds once: 409 ALREADY_BOUND) and completes the saga",
    responses={202: {"description": "Recorded; the account is being activated (poll GET until BOUND)",
                     "content": {"application/json": {"model": BindingRequestResponse}}},
               **error_responses(400, 401, 403, 404, 409, 422)},
    middlewares=[signed_partner(SETTINGS), idempotent(required=True)],
    tags=["partners", "binding"],
)
def confirm_binding(binding_request_id: Annotated[BindingRequestId, Path()],
                    request: ConfirmBindingRequest) -> Response[BindingRequestResponse]:
    partner = app.context[PARTNER_KEY]
    confirmed = wiring.requests(SETTINGS).confirm(partner.partner_id, binding_request_id, request.account_id,
                                                  request.card_token)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON,
                    body=BindingRequestResponse.of(confirmed))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
