"""POST /admin/partners: register a partner bank; returns its first signing key's secret once (admin)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.schemas import CreatePartnerRequest, PartnerKeyResponse, PartnerResponse
from shared.binding.settings import BindingSettings
from shared.binding.signatures import CALLBACK_KEY_SUFFIX
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/partners",
    summary="Register a partner bank (admin); the signing secret is returned once",
    responses={201: {"description": "Created", "content": {"application/json": {"model": PartnerKeyResponse}}},
               **error_responses(400, 401, 403, 409, 422)},
    middlewares=[idempotent(required=True, secret_fields=("secret",))],
    tags=["admin", "binding"],
)
def create_partner(request: CreatePartnerRequest) -> Response[PartnerKeyResponse]:
    admin = current_caller(app)
    admin.require("admin")
    partner, key, secret = wiring.partners(SETTINGS).create(request.name, request.callback_url, admin.sub,
                                                            app.current_event.headers[HEADER])
    body = PartnerKeyResponse(partner_id=partner.partner_id, key_id=key.key_id, secret=secret,
                              callback_key_id=key.key_id + CALLBACK_KEY_SUFFIX, partner=PartnerResponse.of(partner))
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
