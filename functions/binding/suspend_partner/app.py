"""POST /admin/partners/{partner_id}/suspension: suspend a partner (admin); its requests are refused (403)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.models import PartnerStatus
from shared.binding.schemas import PartnerId, PartnerResponse, SuspendPartnerRequest
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/partners/<partner_id>/suspension",
    summary="Suspend a partner bank (admin); DELETE on the same path reinstates it",
    responses=error_responses(400, 401, 403, 404, 409, 422),
    middlewares=[idempotent(required=False)],
    tags=["admin", "binding"],
)
def suspend_partner(partner_id: Annotated[PartnerId, Path()], request: SuspendPartnerRequest) -> PartnerResponse:
    current_caller(app).require("admin")
    partner = wiring.partners(SETTINGS).set_status(partner_id, PartnerStatus.SUSPENDED, request.reason)
    return PartnerResponse.of(partner)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
