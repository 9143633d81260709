"""DELETE /admin/partners/{partner_id}/suspension: lift a partner's suspension (admin)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.models import PartnerStatus
from shared.binding.schemas import PartnerId, PartnerResponse
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.delete(
    "/admin/partners/<partner_id>/suspension",
    summary="Reinstate a suspended partner bank (admin)",
    responses=error_responses(400, 401, 403, 404, 409),
    tags=["admin", "binding"],
    middlewares=[idempotent(required=False)],
)
def reinstate_partner(partner_id: Annotated[PartnerId, Path()]) -> PartnerResponse:
    current_caller(app).require("admin")
    return PartnerResponse.of(wiring.partners(SETTINGS).set_status(partner_id, PartnerStatus.ACTIVE))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
