"""POST /admin/partners/{partner_id}/keys: a new signing key (old ones valid for the grace period) (admin)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.schemas import PartnerId, PartnerKeyResponse, PartnerResponse
from shared.binding.settings import BindingSettings
from shared.binding.signatures import CALLBACK_KEY_SUFFIX
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/partners/<partner_id>/keys",
    summary="Rotate a partner's signing key (admin); the new secret is returned once",
    responses={201: {"description": "Created", "content": {"application/json": {"model": PartnerKeyResponse}}},
               **error_responses(400, 401, 403, 404, 409, 422)},
    middlewares=[idempotent(required=True, secret_fields=("secret",))],
    tags=["admin", "binding"],
)
def rotate_partner_key(partner_id: Annotated[PartnerId, Path()]) -> Response[PartnerKeyResponse]:
    current_caller(app).require("admin")
    partner, key, secret = wiring.partners(SETTINGS).rotate(partner_id, app.current_event.headers[HEADER])
    body = PartnerKeyResponse(partner_id=partner.partner_id, key_id=key.key_id, secret=secret,
                              callback_key_id=key.key_id + CALLBACK_KEY_SUFFIX, partner=PartnerResponse.of(partner))
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
