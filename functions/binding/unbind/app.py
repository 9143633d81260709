"""DELETE /bindings/{binding_id}: unbind a card (requires a §4 ACCOUNT_UPDATE verification token)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.binding import wiring
from shared.binding.schemas import BindingId, UnbindResponse
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@app.delete("/bindings/<binding_id>", summary="Unbind one of the caller's cards (X-Verification-Token required)",
            responses=error_responses(400, 401, 403, 404, 422), tags=["binding"],
            middlewares=[idempotent(required=False)])
def unbind(binding_id: Annotated[BindingId, Path()],
           x_verification_token: Annotated[str | None, Header(alias="X-Verification-Token", max_length=2048)] = None,
           ) -> UnbindResponse:
    caller = current_caller(app).sub
    key = app.current_event.headers.get(HEADER)
    binding = wiring.user_bindings(SETTINGS).unbind(caller, binding_id, x_verification_token,
                                                    request_tag(caller, key) if key else None)
    return UnbindResponse(binding_id=binding.binding_id, unbound_at=binding.unbound_at)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
